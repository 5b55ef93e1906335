"""``gateway_circuit_state``: read from the circuits when scraped, never updated per request
(with worker processes: written by each worker when one of its circuits changes)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from domain.circuits import STATE_VALUES, Breakers

NAME = "gateway_circuit_state"
HELP = "Each deployment's circuit: 0 closed, 1 half-open, 2 open (its provider's, when worse)."


class CircuitCollector(Collector):
    """The current config generation's deployments (``breakers``, set when it starts), each with
    the worse of its own circuit's state and its provider's. Models the config does not name
    share the ``other`` label, with the worst state among them."""

    def __init__(self, bounded_model: Callable[[str | None], str]) -> None:
        self.breakers: Breakers | None = None
        self._bounded = bounded_model

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(NAME, HELP, labels=["provider", "model"])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(NAME, HELP, labels=["provider", "model"])
        for (provider, model), value in sorted(self.states().items()):
            family.add_metric([provider, model], value)
        yield family

    def states(self) -> dict[tuple[str, str], int]:
        """Each (provider, bounded model)'s state value now."""
        states: dict[tuple[str, str], int] = {}
        reach = 0
        for circuit in self.breakers.snapshot() if self.breakers is not None else ():
            value = STATE_VALUES[circuit.state]
            if circuit.model is None:  # a provider's own circuit comes before its deployments'
                reach = value
                continue
            key = (circuit.provider, self._bounded(circuit.model))
            states[key] = max(states.get(key, 0), value, reach)
        return states


class SharedCircuitStates:
    """With worker processes: each worker writes its circuits' states to a ``livemax`` gauge in
    the shared directory whenever one of its circuits changes (and when a generation starts),
    so a scrape, whichever worker answers it, shows the worst state any live worker holds."""

    def __init__(self, collector: CircuitCollector, registry: CollectorRegistry) -> None:
        self._collector = collector
        self._gauge = Gauge(NAME, HELP, ["provider", "model"], registry=registry, multiprocess_mode="livemax")
        self._written: set[tuple[str, str]] = set()

    def publish(self, _: object = None) -> None:
        states = self._collector.states()
        for key in self._written - states.keys():  # gone (a reload): closed, as far as this worker knows
            self._gauge.labels(*key).set(0)
        for key, value in states.items():
            self._gauge.labels(*key).set(value)
        self._written |= states.keys()
