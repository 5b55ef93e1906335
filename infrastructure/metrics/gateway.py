"""The gateway's Prometheus metrics, fed once per request from its ``RequestRecord``.

Names follow the OpenTelemetry GenAI semantic conventions where one exists (Prometheus
spelling); the README's Observability section has the table. Labels are bounded (``labels.py``).

The hot path is ``observe``, called by the access-log layer when a request (or stream) ends: each
metric's labelled child is looked up in a dict keyed by its label tuple (made once per label
combination, and the combinations are bounded), so a request costs a few dict look-ups and the
library's increments, no ``labels()`` call. ``gateway_in_flight`` is moved by the chat route
(``in_flight`` hands it the child for its frontdoor); ``gateway_circuit_state`` is read from the
current config generation's circuits when scraped (``CircuitCollector``), never per request.

Overhead (``gateway_overhead_seconds``) is a request's duration less ``record.upstream_wait``:
the time spent waiting on upstreams, summed over its attempts. For a non-streaming request that
is the time inside the HTTP port's exchange (measured by the HTTP provider, so building the
upstream body and parsing its answer count as the gateway's); for a stream, the wait for its
first event (measured by the service, opening the upstream request included) and then the time
from that event to the stream's end (the stream guard: the gateway's work on each event
overlaps the upstream's generation of the next, so a stream's overhead is what the gateway adds
before its first event and after its last); back-off sleeps between retries count as waiting
too. What remains is the gateway's own work: decoding, routing, translating, encoding, logging.
It is observed for requests that reached an upstream, labelled by whether the frontdoor's
protocol differs from the provider's (``translated``).

Each labelled child's values are updated through its cells (``cells.py``: lists of floats, a
bisect for a histogram, no lock); the children a request feeds are found with one look-up of
its shape (``_Shape``).
"""

from __future__ import annotations

import os
from bisect import bisect_left
from typing import Any, cast

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from domain.circuits import Breakers
from domain.request_record import RequestRecord
from infrastructure.config.schema import GatewayConfig
from infrastructure.metrics.cells import CellGauge, Cells, cells_of, observe_into
from infrastructure.metrics.circuits import CircuitCollector, SharedCircuitStates
from infrastructure.metrics.labels import NONE, OTHER, key_names, model_names

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

# Bucket bounds: the GenAI semantic conventions' where they give some.
REQUEST_SECONDS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
FIRST_TOKEN_SECONDS = (
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0
)  # fmt: skip
OUTPUT_TOKEN_SECONDS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5)
TOKENS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
OVERHEAD_SECONDS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)

_STATUS_CLASS = {1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}
INF = float("inf")
REQUEST_BOUNDS = (*REQUEST_SECONDS, INF)  # as the library keeps them: +Inf last
FIRST_TOKEN_BOUNDS = (*FIRST_TOKEN_SECONDS, INF)
OUTPUT_TOKEN_BOUNDS = (*OUTPUT_TOKEN_SECONDS, INF)
TOKEN_BOUNDS = (*map(float, TOKENS), INF)
OVERHEAD_BOUNDS = (*OVERHEAD_SECONDS, INF)


def multiprocess_dir() -> str | None:
    """The directory the worker processes share their values in (``--workers`` > 1), or None."""
    return os.environ.get(MULTIPROCESS_VARIABLE) or None


class GatewayMetrics:
    """Every metric of the table, on ``registry`` (a registry of their own by default)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        if registry is None:
            registry = CollectorRegistry(auto_describe=True)
        self.registry = registry
        self.request_duration = Histogram(
            "gen_ai_server_request_duration_seconds",
            "Time from a request's arrival to the end of its answer.",
            ["app", "frontdoor", "provider", "model", "status_class"], buckets=REQUEST_SECONDS,
            registry=registry,
        )  # fmt: skip
        self.time_to_first_token = Histogram(
            "gen_ai_server_time_to_first_token_seconds",
            "Time from a streamed request's arrival to its first byte.",
            ["app", "provider", "model"], buckets=FIRST_TOKEN_SECONDS, registry=registry,
        )  # fmt: skip
        self.time_per_output_token = Histogram(
            "gen_ai_server_time_per_output_token_seconds",
            "Time per output token of a stream after its first byte.",
            ["provider", "model"], buckets=OUTPUT_TOKEN_SECONDS, registry=registry,
        )  # fmt: skip
        self.token_usage = Histogram(
            "gen_ai_client_token_usage",
            "Tokens per request, by type (input, output, cache_read, cache_write).",
            ["provider", "model", "gen_ai_token_type"], buckets=TOKENS, registry=registry,
        )  # fmt: skip
        self.requests = Counter(
            "gateway_requests_total", "Requests answered, by HTTP status.",
            ["app", "frontdoor", "provider", "model", "status"], registry=registry,
        )  # fmt: skip
        self.attempts = Counter(
            "gateway_upstream_attempts_total", "Upstream attempts (retries included), by result.",
            ["provider", "model", "result"], registry=registry,
        )  # fmt: skip
        self.failovers = Counter(
            "gateway_failovers_total", "Moves from one target to the next within a request.",
            ["app", "from_provider", "to_provider"], registry=registry,
        )  # fmt: skip
        self.overhead = Histogram(
            "gateway_overhead_seconds", "Time in the gateway itself, excluding the wait on upstreams.",
            ["frontdoor", "translated"], buckets=OVERHEAD_SECONDS, registry=registry,
        )  # fmt: skip
        self.in_flight_requests = Gauge(
            "gateway_in_flight", "Chat requests in progress.", ["frontdoor", "stream"],
            registry=registry, multiprocess_mode="livesum",
        )  # fmt: skip
        self.cost = Counter(
            "gateway_cost_usd_total", "Spend in US dollars, priced from the usage.",
            ["key", "provider", "model"], registry=registry,
        )  # fmt: skip
        self.rejected = Counter(
            "gateway_rejected_total", "Requests refused by policy, by reason.", ["key", "reason"],
            registry=registry,
        )  # fmt: skip
        self.reloads = Counter(
            "gateway_config_reloads_total", "Config reloads, applied or refused.", ["result"],
            registry=registry,
        )  # fmt: skip
        self._shared = multiprocess_dir() is not None  # the workers' values live in shared memory
        self.models: frozenset[str] = frozenset()
        self.keys: frozenset[str] = frozenset()
        self.circuits = CircuitCollector(self.bounded_model)
        # One worker: read when scraped. Several: each writes its own on every change.
        self.shared_circuits = SharedCircuitStates(self.circuits, registry) if self._shared else None
        if self.shared_circuits is None:
            registry.register(self.circuits)
        self._cells: dict[tuple[str, tuple[str, ...]], Cells] = {}  # by metric name and labels
        self._shapes: dict[tuple[str, str, str, str, int, bool, bool], _Shape] = {}
        self._attempts: dict[tuple[str, str, str], Cells] = {}
        self._failovers: dict[tuple[str, str, str], Cells] = {}
        self._cost: dict[tuple[str, str, str], Cells] = {}
        self._rejected: dict[tuple[str, str], Cells] = {}

    # ---- configuration ---------------------------------------------------------------------
    def configure(self, config: GatewayConfig, breakers: Breakers | None = None) -> None:
        """The names a config generation allows in labels, and its circuits (for scrapes)."""
        self.models = model_names(config)
        self.keys = key_names(config)
        if breakers is not None:
            self.circuits.breakers = breakers
            if self.shared_circuits is not None:
                self.shared_circuits.publish()

    def circuit_changed(self, circuit: object) -> None:
        """A circuit of this worker changed state (with workers: publish this worker's states)."""
        if self.shared_circuits is not None:
            self.shared_circuits.publish()

    def bounded_model(self, name: str | None) -> str:
        if name is None:
            return NONE
        return name if name in self.models else OTHER

    def bounded_key(self, name: str | None) -> str:
        if name is None:
            return NONE
        return name if name in self.keys else OTHER

    def cells(self, metric: Any, *labels: str) -> Cells:
        """The cells of ``metric``'s child for ``labels`` (made once)."""
        key = (metric._name, labels)
        found = self._cells.get(key)
        if found is None:
            found = self._cells[key] = cells_of(metric.labels(*labels), self._shared)
        return found

    # ---- the hot path ----------------------------------------------------------------------
    def in_flight(self, frontdoor: str, stream: bool) -> CellGauge:
        """The in-flight gauge for a frontdoor's streams or other requests."""
        return CellGauge(self.cells(self.in_flight_requests, frontdoor, "true" if stream else "false"))

    def observe(self, record: RequestRecord, status: int, seconds: float, first_byte: float | None) -> None:
        """One request, ended after ``seconds``, its first body byte after ``first_byte`` seconds."""
        if record.app:
            self._observe_request(record, status, seconds, first_byte)
        if record.rejected is not None:
            key = (self.bounded_key(record.key), record.rejected)
            cells = self._rejected.get(key)
            if cells is None:
                cells = self._rejected[key] = self.cells(self.rejected, *key)
            cells[0] += 1
        if record.cost_usd:
            model = self.bounded_model(record.upstream_model)
            key3 = (self.bounded_key(record.key), record.provider or NONE, model)
            cells = self._cost.get(key3)
            if cells is None:
                cells = self._cost[key3] = self.cells(self.cost, *key3)
            cells[0] += record.cost_usd

    def _observe_request(
        self, record: RequestRecord, status: int, seconds: float, first_byte: float | None
    ) -> None:
        # observe_into and bounded_model, inline: this runs for every request
        provider = record.provider
        name = record.model if provider is None else record.upstream_model
        model = name if name in self.models else OTHER if name is not None else NONE
        if provider is None:
            provider = NONE
        key = (record.app, record.frontdoor, provider, model, status, record.stream,
               record.upstream_protocol != record.frontdoor)  # fmt: skip
        shape = self._shapes.get(key)
        if shape is None:
            shape = self._shapes[key] = _Shape(self, *key)
        shape.requests[0] += 1
        cells = shape.duration
        cells[bisect_left(REQUEST_BOUNDS, seconds)] += 1
        cells[-1] += seconds
        attempts = record.attempts
        if not attempts:
            return
        if len(attempts) == 1:  # the usual case, no retry, no failover: its target is the shape's
            result = attempts[0]["result"]
            counter = shape.attempts.get(result)
            if counter is None:
                key3 = (provider, model, str(result))
                counter = self._attempts.get(key3)
                if counter is None:
                    counter = self._attempts[key3] = self.cells(self.attempts, *key3)
                shape.attempts[result] = counter
            counter[0] += 1
        else:
            self._observe_attempts(record.app, attempts)
        own = seconds - record.upstream_wait
        cells = shape.overhead
        cells[bisect_left(OVERHEAD_BOUNDS, own)] += 1
        cells[-1] += own if own > 0 else 0.0
        count = record.input_tokens
        if count is not None:
            cells = shape.input_tokens
            cells[bisect_left(TOKEN_BOUNDS, count)] += 1
            cells[-1] += count
        count = record.output_tokens
        if count is not None:
            cells = shape.output_tokens
            cells[bisect_left(TOKEN_BOUNDS, count)] += 1
            cells[-1] += count
        if record.cache_read_tokens is not None:
            observe_into(shape.cache_read_tokens, TOKEN_BOUNDS, record.cache_read_tokens)
        if record.cache_write_tokens is not None:
            observe_into(shape.cache_write_tokens, TOKEN_BOUNDS, record.cache_write_tokens)
        if record.stream and first_byte is not None:
            observe_into(shape.first_token, FIRST_TOKEN_BOUNDS, first_byte)
            output = record.output_tokens
            if output is not None and output > 1:
                observe_into(shape.per_token, OUTPUT_TOKEN_BOUNDS, (seconds - first_byte) / (output - 1))

    def _observe_attempts(self, app: str, attempts: list[dict[str, object]]) -> None:
        previous: tuple[str, str] | None = None
        for attempt in attempts:
            provider, model = cast(str, attempt["provider"]), cast(str, attempt["model"])
            key = (provider, self.bounded_model(model), cast(str, attempt["result"]))
            cells = self._attempts.get(key)
            if cells is None:
                cells = self._attempts[key] = self.cells(self.attempts, *key)
            cells[0] += 1
            if previous is not None and previous != (provider, model):  # a retry stays on its target
                move = (app, previous[0], provider)
                cells = self._failovers.get(move)
                if cells is None:
                    cells = self._failovers[move] = self.cells(self.failovers, *move)
                cells[0] += 1
            previous = (provider, model)

    def config_reloaded(self, applied: bool) -> None:
        self.cells(self.reloads, "applied" if applied else "refused")[0] += 1

    # ---- scraping --------------------------------------------------------------------------
    def exposition(self) -> bytes:
        """The text format: this process's metrics, or every worker's summed when they share a
        multiprocess directory (circuit states: the worst any live worker holds)."""
        directory = multiprocess_dir()
        if directory is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, directory)  # type: ignore[no-untyped-call]
        return generate_latest(registry)


class _Shape:
    """The cells every request of one shape feeds (app, frontdoor, provider, model, status,
    stream, translated): one dict look-up a request finds them all (and its attempt's, when it
    made one)."""

    __slots__ = (
        "attempts", "cache_read_tokens", "cache_write_tokens", "duration", "first_token", "input_tokens",
        "output_tokens", "overhead", "per_token", "requests",
    )  # fmt: skip

    def __init__(
        self, m: GatewayMetrics, app: str, frontdoor: str, provider: str, model: str, status: int,
        stream: bool, translated: bool,
    ) -> None:  # fmt: skip
        status_class = _STATUS_CLASS.get(status // 100, "other")
        self.requests = m.cells(m.requests, app, frontdoor, provider, model, str(status))
        self.duration = m.cells(m.request_duration, app, frontdoor, provider, model, status_class)
        # a request's one attempt, by its result (taken when first seen: a child appears in the
        # exposition only once counted)
        self.attempts: dict[object, Cells] = {}
        none: Cells = _NO_CELLS
        self.overhead, self.input_tokens, self.output_tokens, self.per_token = none, none, none, none
        self.cache_read_tokens, self.cache_write_tokens, self.first_token = none, none, none
        if provider == NONE:  # no upstream was tried: none of the rest applies
            return
        self.overhead = m.cells(m.overhead, frontdoor, "true" if translated else "false")
        tokens = m.token_usage
        self.input_tokens = m.cells(tokens, provider, model, "input")
        self.output_tokens = m.cells(tokens, provider, model, "output")
        self.cache_read_tokens = m.cells(tokens, provider, model, "cache_read")
        self.cache_write_tokens = m.cells(tokens, provider, model, "cache_write")
        if stream:
            self.first_token = m.cells(m.time_to_first_token, app, provider, model)
            self.per_token = m.cells(m.time_per_output_token, provider, model)


_NO_CELLS: list[float] = []
_default: GatewayMetrics | None = None


def worker_stopped() -> None:
    """In a worker sharing a multiprocess directory, when it stops serving: drop its live gauges
    (in flight) from the directory; its counters and histograms stay in the sums."""
    directory = multiprocess_dir()
    if directory is not None:
        mark_process_dead(os.getpid(), directory)  # type: ignore[no-untyped-call]


def default_metrics() -> GatewayMetrics:
    """The process's metrics (created on first use, after the launcher set up the environment)."""
    global _default
    if _default is None:
        _default = GatewayMetrics()
    return _default
