"""``GatewayError`` -> the status and body Anthropic's SDKs expect.

Body: ``{"type": "error", "error": {"type", "message"}}`` with Anthropic's documented types
(invalid_request_error 400, authentication_error 401, permission_error 403, not_found_error 404,
request_too_large 413, rate_limit_error 429, api_error 500/502, timeout_error 504,
overloaded_error 529). An overload answers 529, as Anthropic does (the SDKs retry it). An error
type that came from an Anthropic upstream (``error.code``, e.g. ``billing_error``) is kept.
Anthropic's ``request_id`` body field is not added: the SDKs read the ``request-id`` header.
"""

from __future__ import annotations

import math

import msgspec
from litestar import Response

from adapters.protocols.anthropic.response import ErrorBodyOut, ErrorOut
from domain.errors import ErrorKind, GatewayError

_encode = msgspec.json.Encoder().encode

TYPE_BY_KIND: dict[ErrorKind, str] = {
    ErrorKind.INVALID_REQUEST: "invalid_request_error",
    ErrorKind.AUTHENTICATION: "authentication_error",
    ErrorKind.PERMISSION: "permission_error",
    ErrorKind.NOT_FOUND: "not_found_error",
    ErrorKind.REQUEST_TOO_LARGE: "request_too_large",
    ErrorKind.RATE_LIMITED: "rate_limit_error",
    ErrorKind.OVERLOADED: "overloaded_error",
    ErrorKind.TIMEOUT: "timeout_error",
    ErrorKind.UNAVAILABLE: "api_error",
    ErrorKind.UPSTREAM: "api_error",
    ErrorKind.PROTOCOL: "api_error",
    ErrorKind.CONFIGURATION: "api_error",
    ErrorKind.INTERNAL: "api_error",
}

# Types an Anthropic upstream may send that no kind names; kept when relayed.
_KEPT_TYPES = frozenset({"billing_error", "conflict_error"})

OVERLOADED_STATUS = 529


def error_type(kind: ErrorKind | str, code: str | None = None) -> str:
    if code is not None and code in _KEPT_TYPES:
        return code
    try:
        return TYPE_BY_KIND[ErrorKind(kind)]
    except ValueError:
        return "api_error"


def error_payload(kind: ErrorKind | str, message: str, code: str | None = None) -> bytes:
    """The JSON error object, also the data of a stream's ``error`` event."""
    return _encode(ErrorBodyOut(error=ErrorOut(type=error_type(kind, code), message=message)))


def error_body(error: GatewayError) -> bytes:
    return error_payload(error.kind, error.message, error.code)


def error_status(error: GatewayError) -> int:
    if error.kind is ErrorKind.OVERLOADED:
        return OVERLOADED_STATUS
    return error.client_status


def error_response(error: GatewayError) -> Response[bytes]:
    headers: dict[str, str] = {}
    if error.retry_after is not None:
        headers["retry-after"] = str(math.ceil(error.retry_after))  # HTTP wants whole seconds
    return Response(
        error_body(error),
        status_code=error_status(error),
        media_type="application/json",
        headers=headers or None,
    )
