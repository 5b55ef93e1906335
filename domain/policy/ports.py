"""The state port of the policy: counters and spend, kept in this process or shared (Redis).

Every operation is atomic for one key (a Lua script in Redis), and the store's own clock
decides windows and periods, so replicas sharing a store agree. ``key`` is the gateway key's
name; ``ticket`` identifies one request's concurrency slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from domain.errors import ErrorKind, GatewayError

WINDOW = 60.0  # seconds: rpm and tpm count over a sliding minute


class StateUnavailable(GatewayError):
    """A shared store cannot be reached and ``state.on_unavailable`` is ``deny``: a 503."""

    def __init__(self) -> None:
        super().__init__(
            ErrorKind.OVERLOADED,
            "The gateway cannot reach its state store; try again shortly.",
            retry_after=1.0,
        )


@dataclass(slots=True)  # not frozen: built on every request, and a frozen one costs more
class Admission:
    """The verdict on a request's arrival: the rpm and concurrent checks, and the budget's."""

    refused: str | None  # None, or "rpm", "concurrent", "budget"
    retry_after: float  # seconds until it may succeed (when refused)
    requests_remaining: int | None  # in the current minute, this request counted (rpm keys)
    requests_reset: float  # seconds until the oldest request of the minute leaves it
    spend: float  # the key's spend in the budget's current period (USD)
    now: float  # the store's clock, epoch seconds


@dataclass(slots=True)
class TokenAdmission:
    """The verdict on a request's estimated input tokens under its key's tpm."""

    refused: bool
    retry_after: float
    remaining: int  # tokens left in the current minute, this request's estimate counted
    reset: float  # seconds until the oldest tokens of the minute leave it
    second: int  # the store's second the estimate was counted at (to settle it)


@dataclass(slots=True)
class Settlement:
    """What a request used, added when it ends."""

    concurrent_ticket: str | None  # the slot to release (None: none was held)
    tpm_second: int | None  # where its estimate was counted (None: not counted)
    estimated_tokens: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    usage_period: str  # day | week | month | total: where its usage and spend are counted


@dataclass(frozen=True, slots=True)
class KeyUsage:
    """A key's counters in one period: what ``/admin/usage`` shows."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    spend_usd: float = 0.0
    in_flight: int = 0
    requests_last_minute: int = 0
    tokens_last_minute: int = 0


class PolicyState(Protocol):
    async def admit(
        self,
        key: str,
        ticket: str,
        *,
        rpm: int | None,
        concurrent: int | None,
        budget_usd: float | None,
        budget_period: str,
    ) -> Admission:
        """Refuse over budget, over rpm or over concurrent; otherwise count the request in the
        minute and take a concurrency slot (when ``concurrent`` is set), all at once."""
        ...

    async def admit_tokens(self, key: str, *, tpm: int, tokens: int) -> TokenAdmission:
        """Refuse when the minute's tokens plus ``tokens`` exceed ``tpm``; else count them."""
        ...

    async def settle(self, key: str, settlement: Settlement) -> None:
        """Release the slot, replace the token estimate by the real count, add usage and spend."""
        ...

    async def usage(self, key: str, period: str) -> KeyUsage:
        """The key's counters in the current ``period``."""
        ...

    async def flush(self) -> None:
        """Write what must survive a restart (in-process state); nothing for a shared store."""
        ...

    async def aclose(self) -> None: ...
