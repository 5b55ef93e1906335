"""GatewayError -> the status and ``{"error": {...}}`` body that OpenAI's SDKs expect."""

from __future__ import annotations

import math

import msgspec
from litestar import Response

from adapters.protocols.openai.response import ErrorBody, ErrorObject
from domain.errors import ErrorKind, GatewayError

_encode = msgspec.json.Encoder().encode

ERROR_TYPES: dict[ErrorKind, str] = {
    ErrorKind.INVALID_REQUEST: "invalid_request_error",
    ErrorKind.AUTHENTICATION: "authentication_error",
    ErrorKind.PERMISSION: "permission_error",
    ErrorKind.NOT_FOUND: "invalid_request_error",  # OpenAI's type for an unknown model or URL
    ErrorKind.REQUEST_TOO_LARGE: "invalid_request_error",
    ErrorKind.RATE_LIMITED: "rate_limit_error",
    ErrorKind.OVERLOADED: "service_unavailable_error",
    ErrorKind.TIMEOUT: "timeout_error",
    ErrorKind.UNAVAILABLE: "server_error",
    ErrorKind.UPSTREAM: "server_error",
    ErrorKind.PROTOCOL: "server_error",
    ErrorKind.CONFIGURATION: "server_error",
    ErrorKind.INTERNAL: "server_error",
}


# Codes whose type OpenAI gives differently from their kind's (a wrong key is an
# invalid_request_error; a spent quota its own type).
TYPE_BY_CODE: dict[str, str] = {
    "invalid_api_key": "invalid_request_error",
    "insufficient_quota": "insufficient_quota",
}


def error_object(error: GatewayError) -> ErrorObject:
    kind_type = ERROR_TYPES[error.kind]
    return ErrorObject(
        message=error.message,
        type=TYPE_BY_CODE.get(error.code, kind_type) if error.code is not None else kind_type,
        param=error.param,
        code=error.code,
    )


def error_body(error: GatewayError) -> bytes:
    return _encode(ErrorBody(error=error_object(error)))


def stream_error_frame(kind: str, message: str) -> bytes:
    """The SSE frame of an error after a stream started (OpenAI then ends without [DONE])."""
    try:
        error_kind = ErrorKind(kind)
    except ValueError:
        error_kind = ErrorKind.INTERNAL
    return b"data: " + error_body(GatewayError(error_kind, message)) + b"\n\n"


def error_response(error: GatewayError) -> Response[bytes]:
    """Status: ``error.client_status`` (an upstream 4xx keeps its own; overload is 503)."""
    headers = None
    if error.retry_after is not None:
        headers = {"retry-after": str(max(0, math.ceil(error.retry_after)))}
    return Response(
        content=error_body(error),
        status_code=error.client_status,
        media_type="application/json",
        headers=headers,
    )
