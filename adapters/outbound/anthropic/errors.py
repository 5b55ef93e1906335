"""Anthropic upstream errors -> ``GatewayError``.

The status decides the kind (Anthropic's documented table: 400 invalid_request_error, 401, 403,
404, 413, 429, 500 api_error, 529 overloaded_error; 503 is treated as an overload and 504 as a
timeout). An upstream 4xx keeps its status and message so the client sees what it would have
seen, except 401/403: their text may quote the gateway's (redacted) key, so the client gets a
message naming the provider and status instead. The upstream ``error.type`` travels as
``code`` so that an Anthropic frontdoor can keep types it has no kind for (``billing_error``).
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from adapters.protocols.anthropic.response import ErrorBody
from domain.errors import ErrorKind, GatewayError

_decode_error = msgspec.json.Decoder(ErrorBody).decode

_KIND_BY_STATUS: dict[int, ErrorKind] = {
    400: ErrorKind.INVALID_REQUEST,
    401: ErrorKind.AUTHENTICATION,
    403: ErrorKind.PERMISSION,
    404: ErrorKind.NOT_FOUND,
    413: ErrorKind.REQUEST_TOO_LARGE,
    429: ErrorKind.RATE_LIMITED,
    503: ErrorKind.OVERLOADED,
    504: ErrorKind.TIMEOUT,
    529: ErrorKind.OVERLOADED,
}

# An error *type* (in a stream's error event, where there is no status) -> kind.
KIND_BY_TYPE: dict[str, ErrorKind] = {
    "invalid_request_error": ErrorKind.INVALID_REQUEST,
    "authentication_error": ErrorKind.AUTHENTICATION,
    "permission_error": ErrorKind.PERMISSION,
    "billing_error": ErrorKind.PERMISSION,
    "not_found_error": ErrorKind.NOT_FOUND,
    "request_too_large": ErrorKind.REQUEST_TOO_LARGE,
    "rate_limit_error": ErrorKind.RATE_LIMITED,
    "timeout_error": ErrorKind.TIMEOUT,
    "overloaded_error": ErrorKind.OVERLOADED,
    "api_error": ErrorKind.UPSTREAM,
}


def kind_of_type(error_type: str) -> ErrorKind:
    return KIND_BY_TYPE.get(error_type, ErrorKind.UPSTREAM)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:  # an HTTP date: rare from Anthropic, not worth parsing
        return None
    return seconds if seconds >= 0 else None


def map_error(status: int, headers: Mapping[str, str], body: bytes, provider: str) -> GatewayError:
    """The ``GatewayError`` for an upstream answer with an error ``status``."""
    try:
        error = _decode_error(body).error
        error_type, message = error.type, error.message
    except (msgspec.DecodeError, msgspec.ValidationError):
        error_type, message = None, ""
    if status in (401, 403):
        kind = _KIND_BY_STATUS[status]
        message = f"Provider '{provider}' refused the gateway's credentials (HTTP {status})."
    elif 400 <= status < 500:
        kind = _KIND_BY_STATUS.get(status, ErrorKind.INVALID_REQUEST)
    else:
        kind = _KIND_BY_STATUS.get(status, ErrorKind.UPSTREAM)
    if not message:
        message = f"Provider '{provider}' answered HTTP {status}."
    return GatewayError(
        kind,
        message,
        status=status if 400 <= status < 500 else None,
        code=error_type,
        retry_after=_retry_after(headers) if status in (429, 503, 529) else None,
        provider=provider,
    )
