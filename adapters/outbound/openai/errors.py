"""Upstream OpenAI (or OpenAI-compatible) error answers -> GatewayError."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from adapters.protocols.openai.response import ErrorEnvelope, ErrorObject
from domain.errors import ErrorKind, GatewayError

_envelope = msgspec.json.Decoder(ErrorEnvelope)

# Error ``type`` / ``code`` values seen in error frames of a stream (no status there).
_KIND_BY_NAME: dict[str, ErrorKind] = {
    "invalid_request_error": ErrorKind.INVALID_REQUEST,
    "authentication_error": ErrorKind.AUTHENTICATION,
    "invalid_api_key": ErrorKind.AUTHENTICATION,
    "permission_error": ErrorKind.PERMISSION,
    "not_found_error": ErrorKind.NOT_FOUND,
    "model_not_found": ErrorKind.NOT_FOUND,
    "rate_limit_error": ErrorKind.RATE_LIMITED,
    "rate_limit_exceeded": ErrorKind.RATE_LIMITED,
    "requests": ErrorKind.RATE_LIMITED,
    "tokens": ErrorKind.RATE_LIMITED,
    "insufficient_quota": ErrorKind.RATE_LIMITED,
    "overloaded_error": ErrorKind.OVERLOADED,
    "server_is_overloaded": ErrorKind.OVERLOADED,
    "service_unavailable_error": ErrorKind.OVERLOADED,
    "timeout": ErrorKind.TIMEOUT,
    "timeout_error": ErrorKind.TIMEOUT,
    "server_error": ErrorKind.UPSTREAM,
    "api_error": ErrorKind.UPSTREAM,
}

_KIND_BY_STATUS: dict[int, ErrorKind] = {
    400: ErrorKind.INVALID_REQUEST,
    401: ErrorKind.AUTHENTICATION,
    403: ErrorKind.PERMISSION,
    404: ErrorKind.NOT_FOUND,
    408: ErrorKind.TIMEOUT,
    413: ErrorKind.REQUEST_TOO_LARGE,
    422: ErrorKind.INVALID_REQUEST,
    429: ErrorKind.RATE_LIMITED,
    503: ErrorKind.OVERLOADED,
    529: ErrorKind.OVERLOADED,
}


def kind_of(error: ErrorObject) -> ErrorKind:
    """The kind of an error payload without a status (an error frame inside a stream)."""
    for name in (error.code, error.type):
        if isinstance(name, str) and name in _KIND_BY_NAME:
            return _KIND_BY_NAME[name]
    return ErrorKind.UPSTREAM


def error_object(payload: ErrorObject | str | None, provider: str) -> ErrorObject:
    """Normalise an ``error`` member (an object, a bare string, or null)."""
    if isinstance(payload, ErrorObject):
        return payload
    if isinstance(payload, str) and payload:
        return ErrorObject(message=payload)
    return ErrorObject(message=f"Provider '{provider}' reported an error.")


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (an HTTP date is ignored)."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value:
            try:
                seconds = float(value) * scale
            except ValueError:
                continue
            if seconds >= 0:
                return seconds
    return None


def _detail(body: bytes) -> ErrorObject | None:
    """The upstream error object, if the body is JSON shaped like one."""
    try:
        envelope = _envelope.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if isinstance(envelope.error, ErrorObject):
        return envelope.error
    if isinstance(envelope.error, str) and envelope.error:
        return ErrorObject(message=envelope.error)
    if isinstance(envelope.message, str) and envelope.message:
        return ErrorObject(message=envelope.message)
    if isinstance(envelope.detail, str) and envelope.detail:  # FastAPI-style servers
        return ErrorObject(message=envelope.detail)
    return None


def map_error(status: int, headers: Mapping[str, str], body: bytes, provider: str) -> GatewayError:
    """An upstream error status and body as a GatewayError.

    A 4xx keeps its status (and the upstream message) for the client, except 401/403, whose
    message may quote part of the gateway's key: those get a message of our own, and 408,
    which is the upstream timing out (504 to the client). Overload (503, 529) and other 5xx
    are the gateway's 503 and 502.
    """
    detail = _detail(body)
    kind = _KIND_BY_STATUS.get(status)
    if kind is None:
        kind = ErrorKind.INVALID_REQUEST if status < 500 else ErrorKind.UPSTREAM
    if status in (401, 403):
        message = (
            f"Provider '{provider}' rejected the gateway's credentials (HTTP {status}); "
            "check the provider's API key in the gateway configuration."
        )
        detail = None
    elif detail is not None and detail.message:
        message = detail.message
    else:
        message = f"Provider '{provider}' answered HTTP {status}."
    code = detail.code if detail is not None and isinstance(detail.code, str) else None
    return GatewayError(
        kind,
        message,
        status=None if status == 408 else status,  # client_status keeps only a 4xx
        param=detail.param if detail is not None else None,
        code=code,
        retry_after=_retry_after(headers) if kind in (ErrorKind.RATE_LIMITED, ErrorKind.OVERLOADED) else None,
        provider=provider,
    )
