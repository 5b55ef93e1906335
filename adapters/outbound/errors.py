"""The upstream error policy, one for every HTTP provider kind.

An upstream answer that is not a success becomes a ``GatewayError`` here: the status decides
the kind and the status the client sees, ``retry-after-ms`` / ``retry-after`` become
``retry_after``, and 401/403 get a message of the gateway's own (their text may quote part of
the gateway's key). Each provider kind contributes only what its protocol spells differently:
a parser of its error body (``ParseBody``: message, code, param).

| upstream status | kind | the client gets |
|---|---|---|
| 400, 409, 422, other 4xx | invalid_request | the same status |
| 401 / 403 | authentication / permission | the same status, a message naming the provider |
| 404 | not_found | 404 |
| 408, 504 | timeout (retried) | 504 |
| 413 | request_too_large | 413 |
| 429 | rate_limited (retried) | 429 |
| 500, 502, other 5xx | upstream (retried) | 502 |
| 503, 529 | overloaded (retried) | 503 (Anthropic clients: 529) |
| 204, 205, 3xx, 1xx | protocol | 502: the upstream did not answer with a body to read |
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import NamedTuple
from urllib.parse import urlsplit

from domain.errors import RETRYABLE, ErrorKind, GatewayError


class ErrorDetail(NamedTuple):
    """What a provider kind reads from an upstream error body."""

    message: str
    code: str | None = None  # OpenAI: error.code; Anthropic: error.type (billing_error...)
    param: str | None = None


ParseBody = Callable[[bytes], ErrorDetail | None]

KIND_BY_STATUS: dict[int, ErrorKind] = {
    400: ErrorKind.INVALID_REQUEST,
    401: ErrorKind.AUTHENTICATION,
    403: ErrorKind.PERMISSION,
    404: ErrorKind.NOT_FOUND,
    408: ErrorKind.TIMEOUT,
    409: ErrorKind.INVALID_REQUEST,
    413: ErrorKind.REQUEST_TOO_LARGE,
    422: ErrorKind.INVALID_REQUEST,
    429: ErrorKind.RATE_LIMITED,
    500: ErrorKind.UPSTREAM,
    502: ErrorKind.UPSTREAM,
    503: ErrorKind.OVERLOADED,
    504: ErrorKind.TIMEOUT,
    529: ErrorKind.OVERLOADED,
}

# Error ``type`` / ``code`` names, of either protocol, for errors that come without a status
# (an error frame inside a stream, an error body on a 200).
KIND_BY_NAME: dict[str, ErrorKind] = {
    "invalid_request_error": ErrorKind.INVALID_REQUEST,
    "authentication_error": ErrorKind.AUTHENTICATION,
    "invalid_api_key": ErrorKind.AUTHENTICATION,
    "permission_error": ErrorKind.PERMISSION,
    "billing_error": ErrorKind.PERMISSION,
    "not_found_error": ErrorKind.NOT_FOUND,
    "model_not_found": ErrorKind.NOT_FOUND,
    "request_too_large": ErrorKind.REQUEST_TOO_LARGE,
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


def is_success(status: int) -> bool:
    """A status whose body the provider reads as its answer."""
    return 200 <= status < 300 and status not in (204, 205)


def kind_of_names(*names: object) -> ErrorKind:
    """The kind named by the first known ``type`` / ``code`` among ``names``, else upstream."""
    for name in names:
        if isinstance(name, str) and name in KIND_BY_NAME:
            return KIND_BY_NAME[name]
    return ErrorKind.UPSTREAM


def kind_of_status(status: int) -> ErrorKind:
    kind = KIND_BY_STATUS.get(status)
    if kind is not None:
        return kind
    if 400 <= status < 500:
        return ErrorKind.INVALID_REQUEST
    if status >= 500:
        return ErrorKind.UPSTREAM
    return ErrorKind.PROTOCOL


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``retry-after-ms``, else ``retry-after`` (seconds or an HTTP date)."""
    value = headers.get("retry-after-ms")
    if value:
        try:
            seconds = float(value) / 1000
        except ValueError:
            pass
        else:
            if seconds >= 0:
                return seconds
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        return max(seconds, 0.0)
    return seconds if seconds >= 0 else None


def upstream_error(
    status: int, headers: Mapping[str, str], body: bytes, provider: str, parse_body: ParseBody
) -> GatewayError:
    """The ``GatewayError`` for an upstream answer that is not a success (see the table)."""
    kind = kind_of_status(status)
    if kind is ErrorKind.PROTOCOL:
        return GatewayError(kind, _no_body_message(status, headers, provider), provider=provider)
    if status in (401, 403):
        detail = None
        message = (
            f"Provider '{provider}' refused the gateway's credentials (HTTP {status}); "
            "check the provider's API key in the gateway configuration."
        )
    else:
        detail = parse_body(body) if body else None
        said = detail.message if detail is not None else ""
        message = said or f"Provider '{provider}' answered HTTP {status}."
    return GatewayError(
        kind,
        message,
        status=status if 400 <= status < 500 and kind is not ErrorKind.TIMEOUT else None,
        param=detail.param if detail is not None else None,
        code=detail.code if detail is not None else None,
        retry_after=retry_after(headers) if kind in RETRYABLE else None,
        provider=provider,
    )


def _no_body_message(status: int, headers: Mapping[str, str], provider: str) -> str:
    if 300 <= status < 400:
        where = _origin(headers.get("location", ""))
        where = f" to {where}" if where else ""
        return (
            f"Provider '{provider}' answered HTTP {status}, a redirect{where}, which the gateway "
            "does not follow: check the provider's base_url."
        )
    if status in (204, 205):
        return f"Provider '{provider}' answered HTTP {status} without a body."
    return f"Provider '{provider}' answered HTTP {status}, which is not an answer the gateway can read."


def _origin(url: str) -> str:
    """Scheme and host of an absolute URL (no path or query, where a token could sit)."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not host:
        return ""
    return f"{parts.scheme}://{host}"
