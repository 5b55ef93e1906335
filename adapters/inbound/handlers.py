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

_STATUS_KIND = {
    400: ErrorKind.INVALID_REQUEST,
    401: ErrorKind.AUTHENTICATION,
    403: ErrorKind.PERMISSION,
    404: ErrorKind.NOT_FOUND,
    405: ErrorKind.NOT_FOUND,
    413: ErrorKind.REQUEST_TOO_LARGE,
    429: ErrorKind.RATE_LIMITED,
}


def from_http_exception(exc: HTTPException) -> GatewayError:
    """A framework HTTP exception (404, 405, 413, ...) as a GatewayError keeping its status."""
    status = exc.status_code
    kind = _STATUS_KIND.get(status, ErrorKind.INVALID_REQUEST if status < 500 else ErrorKind.INTERNAL)
    message = exc.detail if status < 500 else "Internal server error."
    if status == 405:
        message = f"Method not allowed: {exc.detail}" if exc.detail else "Method not allowed."
    return GatewayError(kind, message, status=status if status < 500 else None)


def exception_handlers(render: ErrorRenderer) -> dict[Any, Callable[[Request, Exception], Response[bytes]]]:
    """Handlers mapping every exception to ``render``'s protocol shape; never a traceback."""

    def gateway_error(_: Request, exc: Exception) -> Response[bytes]:
        assert isinstance(exc, GatewayError)
        return render(exc)

    def http_exception(_: Request, exc: Exception) -> Response[bytes]:
        assert isinstance(exc, HTTPException)
        return render(from_http_exception(exc))

    def unexpected(request: Request, exc: Exception) -> Response[bytes]:
        log.error("request.failed", path=request.url.path, exc_info=exc)
        return render(GatewayError(ErrorKind.INTERNAL, "Internal server error."))

    return {GatewayError: gateway_error, HTTPException: http_exception, Exception: unexpected}
