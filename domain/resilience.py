"""Policies that keep a failing provider from costing the client: retries with backoff and
jitter, and a circuit breaker per provider. Pure logic; the clock and randomness are injected.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from domain.errors import RETRYABLE, ErrorKind, GatewayError

# RETRYABLE (from domain.errors) is worth another attempt, on the same target then the next:
# connection errors, timeouts, 429, 408, 5xx and overloads. Never other 4xx.
# Worth the next target but not the same one again: the provider cannot serve at all
# (e.g. its key is not configured).
FAILOVER_ONLY = frozenset({ErrorKind.CONFIGURATION})


def should_fail_over(error: GatewayError) -> bool:
    return error.kind in RETRYABLE or error.kind in FAILOVER_ONLY


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``attempts`` per target, first one included; exponential backoff with full jitter."""

    attempts: int = 2
    backoff_base: float = 0.25
    backoff_cap: float = 4.0
    retry_after_cap: float = 10.0  # a longer Retry-After: move on to the next target instead

    def delay(self, attempt: int, error: GatewayError, rng: random.Random) -> float | None:
        """Seconds to wait before attempt ``attempt + 1`` on the same target, or None: don't."""
        if attempt >= self.attempts or error.kind not in RETRYABLE:
            return None
        backoff = rng.uniform(0, min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1)))
        if error.retry_after is not None:
            if error.retry_after > self.retry_after_cap:
                return None
            return max(error.retry_after, backoff)
        return backoff


@dataclass(frozen=True, slots=True)
class ProviderPolicy:
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    first_byte: float = 300.0  # seconds until a stream's first event
    idle: float = 60.0  # seconds allowed between two stream events
    total: float = 600.0  # seconds for a whole non-streaming request


CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitBreaker:
    """Open after ``threshold`` consecutive failures; after ``cooldown`` let one probe through
    (half-open); close on its success, open again on its failure. ``threshold`` 0 disables it."""

    __slots__ = ("_clock", "_failures", "_on_change", "_opened_at", "_probing", "cooldown", "name", "state", "threshold")

    def __init__(
        self,
        name: str,
        threshold: int = 5,
        cooldown: float = 30.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[str, str], None] | None = None,
    ) -> None:
        self.name = name
        self.threshold = threshold
        self.cooldown = cooldown
        self.state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False
        self._clock = clock
        self._on_change = on_change

    def _set(self, state: str) -> None:
        if state != self.state:
            self.state = state
            if self._on_change is not None:
                self._on_change(self.name, state)

    def available(self) -> bool:
        """Whether a request may be sent now (moves an open circuit to half-open after the
        cool-down; a half-open circuit admits one probe at a time)."""
        if self.state == CLOSED:
            return True
        if self.state == OPEN:
            if self._clock() - self._opened_at < self.cooldown:
                return False
            self._set(HALF_OPEN)
        return not self._probing

    def retry_in(self) -> float:
        """Seconds until an open circuit admits a probe."""
        return max(0.0, self._opened_at + self.cooldown - self._clock()) if self.state == OPEN else 0.0

    def begin(self) -> None:
        """An attempt starts; in half-open it is the probe."""
        if self.state == HALF_OPEN:
            self._probing = True

    def success(self) -> None:
        self._failures = 0
        self._probing = False
        self._set(CLOSED)

    def failure(self) -> None:
        self._failures += 1
        self._probing = False
        if self.threshold and (self.state == HALF_OPEN or self._failures >= self.threshold):
            self._opened_at = self._clock()
            self._set(OPEN)

    def abandon(self) -> None:
        """An attempt ended without a verdict (the client went away): free the probe slot."""
        self._probing = False


class Breakers:
    """The circuit breakers of every provider, shared by all apps of one config generation (a
    reload starts with closed circuits)."""

    def __init__(self, breakers: Iterable[CircuitBreaker] = ()) -> None:
        self._by_name = {b.name: b for b in breakers}

    def get(self, provider: str) -> CircuitBreaker:
        breaker = self._by_name.get(provider)
        if breaker is None:  # a provider without explicit settings gets the defaults
            breaker = self._by_name[provider] = CircuitBreaker(provider)
        return breaker

    def available(self, provider: str) -> bool:
        return self.get(provider).available()
