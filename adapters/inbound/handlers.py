"""Exception handlers every frontdoor installs on its router, rendering its own error shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException

from domain.errors import ErrorKind, GatewayError

log = structlog.get_logger(__name__)

ErrorRenderer = Callable[[GatewayError], Response[bytes]]
Handler = Callable[[Request[Any, Any, Any], Exception], Response[bytes]]

_STATUS_KIND = {
    400: ErrorKind.INVALID_REQUEST,
    401: ErrorKind.AUTHENTICATION,
    403: ErrorKind.PERMISSION,
    404: ErrorKind.NOT_FOUND,
    405: ErrorKind.INVALID_REQUEST,  # as the Anthropic API answers a wrong method
    413: ErrorKind.REQUEST_TOO_LARGE,
    429: ErrorKind.RATE_LIMITED,
}
_UNTOLD = frozenset({"", "OPTIONS", "HEAD"})  # methods every route takes, not worth a mention
_PATH_SHOWN = 200  # characters of a request path repeated in a message


def from_http_exception(
    exc: HTTPException, *, method: str = "", path: str = "", served: str = ""
) -> GatewayError:
    """A framework HTTP exception (404, 405, 413, ...) as a GatewayError keeping its status.

    A 404 says the gateway does not serve ``method path`` (and what it ``served`` there); a 405
    names the methods the endpoint takes (the exception's ``allow`` header).
    """
    status = exc.status_code
    kind = _STATUS_KIND.get(status, ErrorKind.INVALID_REQUEST if status < 500 else ErrorKind.INTERNAL)
    message = exc.detail if status < 500 else "Internal server error."
    target = f"{method} {path if len(path) <= _PATH_SHOWN else path[:_PATH_SHOWN] + '...'}".strip()
    if status == 404:
        message = f"The gateway does not serve {target or 'this endpoint'}."
        if served:
            message += f" Here it serves: {served}."
    elif status == 405:
        methods = (exc.headers or {}).get("allow", "").split(",")
        allowed = [m.strip() for m in methods if m.strip() not in _UNTOLD]
        message = f"Method not allowed: {target or exc.detail}."
        if allowed:
            message += f" This endpoint takes {' or '.join(allowed)}."
    return GatewayError(kind, message, status=status if status < 500 else None)


def exception_handlers(render: ErrorRenderer) -> dict[Any, Handler]:
    """Handlers mapping every exception to ``render``'s protocol shape; never a traceback."""

    def gateway_error(_: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
        assert isinstance(exc, GatewayError)
        return render(exc)

    def http_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
        assert isinstance(exc, HTTPException)
        response = render(from_http_exception(exc, method=request.method, path=request.scope["path"]))
        if exc.headers and "allow" in exc.headers:
            response.headers["allow"] = exc.headers["allow"]
        return response

    def unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
        log.error("request.failed", path=request.url.path, exc_info=exc)
        return render(GatewayError(ErrorKind.INTERNAL, "Internal server error."))

    return {GatewayError: gateway_error, HTTPException: http_exception, Exception: unexpected}
