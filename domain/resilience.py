"""Policies that keep a failing provider from costing the client: retries with backoff and
jitter, per target. Pure logic; randomness is injected. The circuit breakers are in
``domain.circuits``.
"""

from __future__ import annotations

import random
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
