"""A deployment's circuit joined to its provider's, and the registry of them all."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from domain.circuits.circuit import CLOSED, DEFAULT_SETTINGS, OPEN, BreakerSettings, Circuit, CircuitSnapshot
from domain.errors import RETRYABLE, ErrorKind, GatewayError

# Outcomes that say nothing about an upstream's health: a provider that was never asked (its
# key is unset), an answer we could not read (perhaps our bug), a bug of ours.
NEUTRAL = frozenset({ErrorKind.CONFIGURATION, ErrorKind.PROTOCOL, ErrorKind.INTERNAL})


class Deployment(Circuit):
    """A deployment's own circuit, joined to its provider's reachability circuit (``reach``)."""

    __slots__ = ("reach",)
    model: str  # a deployment's circuit is always a model's

    def __init__(
        self,
        reach: Circuit,
        model: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[CircuitSnapshot], None] | None = None,
    ) -> None:
        super().__init__(reach.provider, model, reach.settings, clock=clock, on_change=on_change)
        self.reach = reach

    def available(self) -> bool:
        """Neither this deployment's circuit nor its provider's turns a request away now."""
        if self.state is CLOSED and self.reach.state is CLOSED:  # every request asks: keep it short
            return True
        return self.reach.admits() and self.admits()

    def begin(self) -> int:
        """A request starts here; returns the probe slots it holds (1: the provider's, 2: this
        deployment's), to hand back to ``settle`` or ``release``."""
        if self.state is CLOSED and self.reach.state is CLOSED:
            return 0
        return self.reach.take_probe() | self.take_probe() << 1

    def settle(self, error: GatewayError | None, held: int) -> None:
        """The request's verdict here: ``None`` for a success, else its last attempt's error."""
        now = self._clock()
        if error is None:
            self.reach.succeeded(now)
            self.succeeded(now)
        elif error.kind in NEUTRAL:
            self.release(held)
        elif error.unreachable:  # the provider's trouble, not this model's
            self.reach.record(False, now, error.retry_after)
            self.free_probe(held & 2 != 0)
            self.last_seen = now
        else:  # the provider answered
            self.reach.record(True, now)
            self.record(error.kind not in RETRYABLE, now, error.retry_after)

    def release(self, held: int) -> None:
        """The request ended without a verdict (the client left, or nothing was learnt)."""
        self.reach.free_probe(held & 1 != 0)
        self.free_probe(held & 2 != 0)

    def failed_late(self, kind: str) -> None:
        """The stream this deployment started failed after its first event with ``kind``."""
        if kind in RETRYABLE:
            self.amend(self._clock())

    def waits(self) -> float:
        """Seconds until this deployment admits a request."""
        now = self._clock()
        return max(self.reach.opens_in(now), self.opens_in(now))


class Breakers:
    """Every circuit of one config generation, shared by all its apps (a reload starts with
    closed circuits). A provider's circuit exists from the start; a deployment's on first use,
    and at most ``limit`` of them are kept: model names can be the client's choice, so when
    full, closed ones used longest ago go first, then open ones nearest their probe."""

    def __init__(
        self,
        settings: Mapping[str, BreakerSettings] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[CircuitSnapshot], None] | None = None,
        limit: int = 4096,
    ) -> None:
        self._settings = dict(settings or {})
        self._clock = clock
        self._on_change = on_change
        self._limit = limit
        self._providers: dict[str, Circuit] = {}
        self._deployments: dict[str, dict[str, Deployment]] = {}
        self._count = 0
        for name in self._settings:
            self.provider(name)

    def provider(self, name: str) -> Circuit:
        """The reachability circuit of provider ``name`` (defaults for one without settings)."""
        circuit = self._providers.get(name)
        if circuit is None:
            circuit = Circuit(name, None, self.settings(name), clock=self._clock, on_change=self._on_change)
            self._providers[name] = circuit
        return circuit

    def settings(self, provider: str) -> BreakerSettings:
        return self._settings.get(provider, DEFAULT_SETTINGS)

    def deployment(self, provider: str, model: str) -> Deployment:
        models = self._deployments.get(provider)
        if models is not None:
            found = models.get(model)
            if found is not None:
                return found
        if self._count >= self._limit:
            self._make_room()
        made = Deployment(self.provider(provider), model, clock=self._clock, on_change=self._on_change)
        self._deployments.setdefault(provider, {})[model] = made
        self._count += 1
        return made

    def snapshot(self) -> list[CircuitSnapshot]:
        """Every circuit: each provider's, then its deployments by model name."""
        now = self._clock()
        result = []
        for name, circuit in self._providers.items():
            result.append(circuit.snapshot(now))
            models = self._deployments.get(name, {})
            result.extend(models[model].snapshot(now) for model in sorted(models))
        return result

    def _make_room(self) -> None:
        """Drop a quarter of the deployments, the least telling first."""

        def rank(d: Deployment) -> tuple[int, float]:
            if d.state is CLOSED:
                return 0, d.last_seen
            return (1, d.probe_at) if d.state is OPEN else (2, d.last_seen)

        every = [d for models in self._deployments.values() for d in models.values()]
        for gone in sorted(every, key=rank)[: max(1, self._count - self._limit * 3 // 4)]:
            models = self._deployments[gone.provider]
            del models[gone.model]
            if not models:
                del self._deployments[gone.provider]
            self._count -= 1
