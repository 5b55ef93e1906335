"""Circuit breakers per deployment, a (provider, upstream model) pair, tripped by a failure rate.

Two circuits guard each deployment. Its own hears how each request to that model ended (a 5xx,
an overload, a 429, a timeout count against it). Its provider's hears only whether the provider
could be reached at all (refused, reset, DNS, TLS, connect timeout), so an unreachable provider
opens every deployment of it at once, while one model's trouble leaves the others alone.

Each client request counts once per deployment, by how its last attempt there ended: retries do
not multiply the count. A circuit opens when, within ``window`` seconds, at least
``min_requests`` requests were counted and ``failure_ratio`` of them failed, or when
``consecutive_failures`` requests in a row failed (the rule that catches a dead deployment with
little traffic). It stays open for the upstream's Retry-After when the failure that opened it
carried one, else for ``cooldown`` seconds, doubled on each repeated trip up to
``max_cooldown``; a trip counts as repeated until the circuit has stayed closed for
``max_cooldown``. Then it is half-open: one probe at a time; a success closes it and clears its
window, a failure opens it again.

What an open circuit means for a request (divert when there is somewhere else to go, else
probe, or refuse with ``fail_fast``) is the service's business. Pure logic, clock injected;
counting keeps ten buckets per window, so a verdict costs a clock read and a few integer updates.
"""

from domain.circuits.circuit import (
    CLOSED,
    DEFAULT_SETTINGS,
    HALF_OPEN,
    OPEN,
    STATE_VALUES,
    BreakerSettings,
    Circuit,
    CircuitSnapshot,
)
from domain.circuits.deployments import NEUTRAL, Breakers, Deployment

__all__ = [
    "CLOSED", "DEFAULT_SETTINGS", "HALF_OPEN", "NEUTRAL", "OPEN", "STATE_VALUES",
    "BreakerSettings", "Breakers", "Circuit", "CircuitSnapshot", "Deployment",
]  # fmt: skip
