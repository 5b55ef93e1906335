"""App-level errors (no route matched: 404, 405) in the protocol of the app whose path they hit."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException

from adapters.inbound import Frontdoor
from adapters.inbound.handlers import from_http_exception

_encode = msgspec.json.Encoder().encode


def not_routed_handler(
    mounted: Sequence[tuple[str, Frontdoor]],
) -> Callable[[Request, Exception], Response[bytes]]:
    """A handler answering in the error shape of the longest mounted path that prefixes the URL
    (outside every app, a generic ``{"error": {...}}``)."""
    by_length = sorted(mounted, key=lambda item: -len(item[0]))

    def handle(request: Request, exc: Exception) -> Response[bytes]:
        assert isinstance(exc, HTTPException)
        error = from_http_exception(exc)
        path = request.url.path
        for prefix, frontdoor in by_length:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return frontdoor.error_response(error)
        kind = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
        body = _encode({"error": {"message": error.message, "type": kind}})
        return Response(body, status_code=exc.status_code, media_type="application/json")

    return handle
