"""One record per request: what a client request did, gathered once, read by every sink."""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING

from domain.ir import Usage

if TYPE_CHECKING:
    from domain.policy.gate import Grant


class RequestRecord:
    """Filled as a request goes through the gateway, and read when it ends.

    The frontdoor sets what the client asked; the service sets where it went (every attempt,
    and the target that served it); usage is recorded as it is seen. The access-log layer reads
    it when the response (or stream) ends, and for the ``x-gateway-*`` response headers; other
    sinks (metrics, spans) read the same record at the same point rather than parsing logs.
    """

    __slots__ = (
        "alias",
        "app",
        "attempts",
        "cache_read_tokens",
        "cache_write_tokens",
        "cost_usd",
        "failed_over",
        "frontdoor",
        "grant",
        "input_tokens",
        "key",
        "model",
        "output_tokens",
        "provider",
        "rejected",
        "stream",
        "stream_error",
        "trace_id",
        "upstream_model",
        "upstream_protocol",
        "upstream_wait",
    )

    def __init__(self, app: str = "", frontdoor: str = "") -> None:
        self.app = app
        self.frontdoor = frontdoor
        self.model: str | None = None
        self.stream = False
        self.provider: str | None = None
        self.upstream_model: str | None = None
        # The provider's protocol: the frontdoor relays natively when it is its own.
        self.upstream_protocol: str | None = None
        self.alias: str | None = None
        # One entry per upstream attempt: provider, model, result ("ok" or an error kind), ms.
        self.attempts: list[dict[str, object]] = []
        self.failed_over = False  # served (or last tried) by a target other than the first
        self.stream_error: str | None = None  # the error kind a stream ended with after its first byte
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.cache_read_tokens: int | None = None  # part of input_tokens (the IR's convention)
        self.cache_write_tokens: int | None = None  # part of input_tokens
        self.key: str | None = None  # the gateway key's name (never the key)
        self.cost_usd: float | None = None  # priced from the real usage once it is final
        self.rejected: str | None = None  # why policy refused it: auth, forbidden, rpm, tpm, ...
        # The gateway key's grant (auth.keys set): the service asks it before any upstream call.
        self.grant: Grant | None = None
        self.trace_id: str | None = None  # the request's trace, when tracing is on
        # Seconds spent waiting on upstreams (HTTP exchanges, stream reads, retry back-offs):
        # what the gateway's own time (the overhead metric) leaves out.
        self.upstream_wait = 0.0

    def record_usage(self, usage: Usage) -> None:
        if isinstance(usage.input_tokens, int):
            self.input_tokens = usage.input_tokens
        if isinstance(usage.output_tokens, int):
            self.output_tokens = usage.output_tokens
        if isinstance(usage.cache_read_tokens, int):
            self.cache_read_tokens = usage.cache_read_tokens
        if isinstance(usage.cache_creation_tokens, int):
            self.cache_write_tokens = usage.cache_creation_tokens

    def add_fields(self, fields: dict[str, object]) -> None:
        """Add to ``fields`` (an access-log line's) what the request did, in a fixed order, leaving
        out what has no value (None or an empty string): a line says what happened, not what
        did not. Written out field by field: it runs once per request."""
        if self.app:
            fields["app"] = self.app
        if self.frontdoor:
            fields["frontdoor"] = self.frontdoor
        if self.model:
            fields["model"] = self.model
        fields["stream"] = self.stream
        if self.provider:
            fields["provider"] = self.provider
        if self.upstream_model:
            fields["upstream_model"] = self.upstream_model
        if self.alias:
            fields["alias"] = self.alias
        fields["attempts"] = self.attempts
        fields["failed_over"] = self.failed_over
        if self.stream_error:
            fields["stream_error"] = self.stream_error
        if self.input_tokens is not None:
            fields["input_tokens"] = self.input_tokens
        if self.output_tokens is not None:
            fields["output_tokens"] = self.output_tokens
        if self.cache_read_tokens is not None:
            fields["cache_read_tokens"] = self.cache_read_tokens
        if self.cache_write_tokens is not None:
            fields["cache_write_tokens"] = self.cache_write_tokens
        if self.key:
            fields["key"] = self.key
        if self.cost_usd is not None:
            fields["cost_usd"] = self.cost_usd
        if self.rejected:
            fields["rejected"] = self.rejected
        if self.trace_id:
            fields["trace_id"] = self.trace_id


def milliseconds(seconds: float) -> float:
    """``round(seconds * 1000, 2)`` (the durations of an access-log line and of its attempts),
    at a third of its cost: round() to places formats the digits, while the integer rounding of
    the hundredths then a division by 100 gives the same float, the nearest to k/100. They can
    differ only where the multiplication by 100 lands exactly on a tie, left to round()."""
    hundredths = seconds * 1000 * 100
    k = round(hundredths)
    if abs(hundredths - k) == 0.5:
        return round(seconds * 1000, 2)
    return k / 100


# The record of the request the running task serves (set by the access-log layer), for the
# code below the service that has no record in hand: the HTTP provider adds its wait to it.
CURRENT: ContextVar[RequestRecord | None] = ContextVar("request_record", default=None)
