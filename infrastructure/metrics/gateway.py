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
first event (measured by the service, opening the upstream request included) and then for each
later event (the stream guard); back-off sleeps between retries count as waiting too. What
remains is the gateway's own work: decoding, routing, translating, encoding, logging. It is
observed for requests that reached an upstream, labelled by whether the frontdoor's protocol
differs from the provider's (``translated``).
"""

from __future__ import annotations

import atexit
import os
from typing import Any, cast

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from domain.circuits import Breakers
from domain.request_record import RequestRecord
from infrastructure.config.schema import GatewayConfig
from infrastructure.metrics.circuits import CircuitCollector
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
        self.models: frozenset[str] = frozenset()
        self.keys: frozenset[str] = frozenset()
        self.circuits = CircuitCollector(self.bounded_model)
        registry.register(self.circuits)
        # labelled children, by label tuple
        self._requests: dict[tuple[str, str, str, str, int], tuple[Any, Any]] = {}
        self._attempts: dict[tuple[str, str, str], Any] = {}
        self._failovers: dict[tuple[str, str, str], Any] = {}
        self._overhead: dict[tuple[str, bool], Any] = {}
        self._tokens: dict[tuple[str, str, str], Any] = {}
        self._first_token: dict[tuple[str, str, str], Any] = {}
        self._per_token: dict[tuple[str, str], Any] = {}
        self._cost: dict[tuple[str, str, str], Any] = {}
        self._rejected: dict[tuple[str, str], Any] = {}

    # ---- configuration ---------------------------------------------------------------------
    def configure(self, config: GatewayConfig, breakers: Breakers | None = None) -> None:
        """The names a config generation allows in labels, and its circuits (for scrapes)."""
        self.models = model_names(config)
        self.keys = key_names(config)
        if breakers is not None:
            self.circuits.breakers = breakers

    def bounded_model(self, name: str | None) -> str:
        if name is None:
            return NONE
        return name if name in self.models else OTHER

    def bounded_key(self, name: str | None) -> str:
        if name is None:
            return NONE
        return name if name in self.keys else OTHER

    # ---- the hot path ----------------------------------------------------------------------
    def in_flight(self, frontdoor: str, stream: bool) -> Any:
        """The in-flight gauge's child for a frontdoor's streams or other requests."""
        return self.in_flight_requests.labels(frontdoor, "true" if stream else "false")

    def observe(self, record: RequestRecord, status: int, seconds: float, first_byte: float | None) -> None:
        """One request, ended after ``seconds``, its first body byte after ``first_byte`` seconds."""
        if record.app:
            self._observe_request(record, status, seconds, first_byte)
        if record.rejected is not None:
            key = (self.bounded_key(record.key), record.rejected)
            child = self._rejected.get(key)
            if child is None:
                child = self._rejected[key] = self.rejected.labels(*key)
            child.inc()
        if record.cost_usd:
            model = self.bounded_model(record.upstream_model)
            key3 = (self.bounded_key(record.key), record.provider or NONE, model)
            child = self._cost.get(key3)
            if child is None:
                child = self._cost[key3] = self.cost.labels(*key3)
            child.inc(record.cost_usd)

    def _observe_request(
        self, record: RequestRecord, status: int, seconds: float, first_byte: float | None
    ) -> None:
        app, frontdoor, provider = record.app, record.frontdoor, record.provider
        if provider is None:
            provider, model = NONE, self.bounded_model(record.model)
        else:
            model = self.bounded_model(record.upstream_model)
        key = (app, frontdoor, provider, model, status)
        children = self._requests.get(key)
        if children is None:
            status_class = _STATUS_CLASS.get(status // 100, "other")
            children = self._requests[key] = (
                self.requests.labels(app, frontdoor, provider, model, str(status)),
                self.request_duration.labels(app, frontdoor, provider, model, status_class),
            )
        children[0].inc()
        children[1].observe(seconds)
        attempts = record.attempts
        if not attempts:
            return
        self._observe_attempts(app, attempts)
        translated = record.upstream_protocol != frontdoor
        child = self._overhead.get((frontdoor, translated))
        if child is None:
            labels = (frontdoor, "true" if translated else "false")
            child = self._overhead[(frontdoor, translated)] = self.overhead.labels(*labels)
        child.observe(max(0.0, seconds - record.upstream_wait))
        tokens = self._tokens
        for count, kind in (
            (record.input_tokens, "input"), (record.output_tokens, "output"),
            (record.cache_read_tokens, "cache_read"), (record.cache_write_tokens, "cache_write"),
        ):  # fmt: skip
            if count is not None:
                token_key = (provider, model, kind)
                child = tokens.get(token_key)
                if child is None:
                    child = tokens[token_key] = self.token_usage.labels(*token_key)
                child.observe(count)
        if record.stream and first_byte is not None:
            first_key = (app, provider, model)
            child = self._first_token.get(first_key)
            if child is None:
                child = self._first_token[first_key] = self.time_to_first_token.labels(*first_key)
            child.observe(first_byte)
            output = record.output_tokens
            if output is not None and output > 1:
                child = self._per_token.get((provider, model))
                if child is None:
                    child = self.time_per_output_token.labels(provider, model)
                    self._per_token[(provider, model)] = child
                child.observe((seconds - first_byte) / (output - 1))

    def _observe_attempts(self, app: str, attempts: list[dict[str, object]]) -> None:
        previous: tuple[str, str] | None = None
        for attempt in attempts:
            provider, model = cast(str, attempt["provider"]), cast(str, attempt["model"])
            key = (provider, self.bounded_model(model), cast(str, attempt["result"]))
            child = self._attempts.get(key)
            if child is None:
                child = self._attempts[key] = self.attempts.labels(*key)
            child.inc()
            if previous is not None and previous != (provider, model):  # a retry stays on its target
                move = (app, previous[0], provider)
                child = self._failovers.get(move)
                if child is None:
                    child = self._failovers[move] = self.failovers.labels(*move)
                child.inc()
            previous = (provider, model)

    def config_reloaded(self, applied: bool) -> None:
        self.reloads.labels("applied" if applied else "refused").inc()

    # ---- scraping --------------------------------------------------------------------------
    def exposition(self) -> bytes:
        """The text format: this process's metrics, or every worker's summed when they share a
        multiprocess directory (the circuits are this worker's: each worker has its own)."""
        directory = multiprocess_dir()
        if directory is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, directory)  # type: ignore[no-untyped-call]
        registry.register(self.circuits)
        return generate_latest(registry)


_default: GatewayMetrics | None = None


def mark_dead_at_exit() -> None:
    """In a worker sharing a multiprocess directory: drop this process's live gauges (in flight)
    from it when it exits; its counters and histograms stay in the sums."""
    directory = multiprocess_dir()
    if directory is not None:
        atexit.register(mark_process_dead, os.getpid(), directory)


def default_metrics() -> GatewayMetrics:
    """The process's metrics (created on first use, after the launcher set up the environment)."""
    global _default
    if _default is None:
        _default = GatewayMetrics()
    return _default
