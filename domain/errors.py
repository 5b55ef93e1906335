"""One error taxonomy for the whole gateway.

Outbound adapters map an upstream status and body to a kind; frontdoors map a kind to the
status and body their protocol's SDKs expect. Each kind says whether another attempt (a retry,
or the next target) may succeed.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    INVALID_REQUEST = "invalid_request"  # the client's request is wrong: 400
    AUTHENTICATION = "authentication"  # the upstream refused the gateway's key: 401
    PERMISSION = "permission"  # 403
    NOT_FOUND = "not_found"  # unknown model, route or path: 404
    REQUEST_TOO_LARGE = "request_too_large"  # 413
    RATE_LIMITED = "rate_limited"  # 429
    OVERLOADED = "overloaded"  # upstream 503 / Anthropic 529
    TIMEOUT = "timeout"  # no answer in time: 504
    UNAVAILABLE = "unavailable"  # connection refused, reset, DNS: 502
    UPSTREAM = "upstream"  # upstream 5xx: 502
    PROTOCOL = "protocol"  # the upstream answered something we cannot read: 502
    CONFIGURATION = "configuration"  # the gateway is misconfigured (e.g. a key is unset): 500
    INTERNAL = "internal"  # a bug of ours: 500


RETRYABLE: frozenset[ErrorKind] = frozenset(
    {
        ErrorKind.RATE_LIMITED,
        ErrorKind.OVERLOADED,
        ErrorKind.TIMEOUT,
        ErrorKind.UNAVAILABLE,
        ErrorKind.UPSTREAM,
    }
)

# The status a kind answers with when no upstream status says otherwise.
DEFAULT_STATUS: dict[ErrorKind, int] = {
    ErrorKind.INVALID_REQUEST: 400,
    ErrorKind.AUTHENTICATION: 401,
    ErrorKind.PERMISSION: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.REQUEST_TOO_LARGE: 413,
    ErrorKind.RATE_LIMITED: 429,
    ErrorKind.OVERLOADED: 503,
    ErrorKind.TIMEOUT: 504,
    ErrorKind.UNAVAILABLE: 502,
    ErrorKind.UPSTREAM: 502,
    ErrorKind.PROTOCOL: 502,
    ErrorKind.CONFIGURATION: 500,
    ErrorKind.INTERNAL: 500,
}


class GatewayError(Exception):
    """An error with a kind; ``status`` keeps an upstream 4xx status to pass to the client.

    ``unreachable`` marks a transport failure met while connecting (refused, reset, DNS, TLS,
    connect timeout): it says the provider itself cannot be reached, whichever model was asked
    for, where a read timeout or a 5xx speaks only of the model that was asked.
    """

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status: int | None = None,
        param: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
        provider: str | None = None,
        unreachable: bool = False,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.param = param
        self.code = code
        self.retry_after = retry_after
        self.provider = provider
        self.unreachable = unreachable

    @property
    def client_status(self) -> int:
        """The HTTP status for the client: an upstream 4xx keeps its own, the rest by kind."""
        if self.status is not None and 400 <= self.status < 500:
            return self.status
        return DEFAULT_STATUS[self.kind]

    def __repr__(self) -> str:
        return f"GatewayError({self.kind.value!r}, {self.message!r}, status={self.status})"


def invalid_request(message: str, *, param: str | None = None) -> GatewayError:
    return GatewayError(ErrorKind.INVALID_REQUEST, message, param=param)
