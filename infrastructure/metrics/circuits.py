"""``gateway_circuit_state``: read from the circuits when scraped, never updated per request."""

from __future__ import annotations

from collections.abc import Callable, Iterator

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
        states: dict[tuple[str, str], int] = {}
        reach = 0
        for circuit in self.breakers.snapshot() if self.breakers is not None else ():
            value = STATE_VALUES[circuit.state]
            if circuit.model is None:  # a provider's own circuit comes before its deployments'
                reach = value
                continue
            key = (circuit.provider, self._bounded(circuit.model))
            states[key] = max(states.get(key, 0), value, reach)
        for (provider, model), value in sorted(states.items()):
            family.add_metric([provider, model], value)
        yield family
