"""Traces: a server span per request, a client span per upstream attempt (retries and failovers
as siblings), the GenAI attributes, the W3C trace context sent upstream by either HTTP client
and continued from the client, the trace id in the access-log line; no message content."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar.testing import AsyncTestClient
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from structlog.testing import capture_logs

from app.asgi import build_asgi
from infrastructure.config.loader import parse_config
from infrastructure.config.schema import TelemetryConfig
from infrastructure.tracing import Tracing, from_settings, install, tracer_provider
from tests.fakes.upstream import FakeUpstream, error

CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"
SECRET_TEXT = "the-prompt-must-not-leave"


def config(url: str, http_client: str) -> str:
    return f"""
server: {{http_client: {http_client}}}
apps:
  - name: oa
    frontdoor: openai
    path: /openai
    model_routing:
      rewrites:
        - model_exact: resilient
          provider: primary
          model: gpt-5-mini
          fallbacks: [{{provider: backup, model: claude-backup-model}}]
providers:
  - name: primary
    type: openai
    api_key: sk-primary
    base_url: {url}/v1
    retries: {{attempts: 2, backoff_base: 0.01, backoff_cap: 0.02}}
    circuit_breaker: {{enabled: false}}
  - name: backup
    type: anthropic
    api_key: sk-backup
    base_url: {url}
    circuit_breaker: {{enabled: false}}
routing: {{default_provider: primary}}
"""


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = tracer_provider(TelemetryConfig(), env={})
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    install(Tracing(provider))
    try:
        yield exporter
    finally:
        install(None)
        provider.shutdown()


@pytest.fixture
def fake() -> Iterator[FakeUpstream]:
    server = FakeUpstream().start_in_thread()
    yield server
    server.stop()


def by_kind(finished: tuple[ReadableSpan, ...], kind: SpanKind) -> list[ReadableSpan]:
    return sorted((s for s in finished if s.kind == kind), key=lambda s: s.start_time or 0)


@pytest.mark.parametrize("http_client", ["httptools", "httpx"])
async def test_a_retried_and_failed_over_request_is_one_trace_with_a_span_per_attempt(
    spans: InMemorySpanExporter, fake: FakeUpstream, http_client: str
) -> None:
    fake.script_for("/v1/chat/completions", error(503), error(503))
    app = build_asgi(parse_config(config(fake.url, http_client), source="test", env={}))
    async with AsyncTestClient(app=app) as client:
        with capture_logs() as logs:
            answer = await client.post(
                "/openai/v1/chat/completions",
                json={"model": "resilient", "messages": [{"role": "user", "content": SECRET_TEXT}]},
                headers={"traceparent": f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"},
            )
    assert answer.status_code == 200, answer.text
    finished = spans.get_finished_spans()
    (server,) = by_kind(finished, SpanKind.SERVER)
    attempts = by_kind(finished, SpanKind.CLIENT)
    assert len(attempts) == 3
    # one trace, continued from the client's traceparent; the attempts are siblings under the server span
    assert {f"{s.context.trace_id:032x}" for s in finished} == {CLIENT_TRACE}
    assert server.parent is not None and f"{server.parent.span_id:016x}" == CLIENT_SPAN
    assert all(s.parent is not None and s.parent.span_id == server.context.span_id for s in attempts)
    assert server.name == "chat resilient"
    assert server.attributes is not None
    assert server.attributes["gen_ai.request.model"] == "resilient"
    assert server.attributes["http.response.status_code"] == 200
    assert server.attributes["gen_ai.usage.output_tokens"] > 0  # type: ignore[operator]

    first, second, third = (dict(s.attributes or {}) for s in attempts)
    for failed in (first, second):
        assert failed["gen_ai.provider.name"] == "openai"
        assert failed["gen_ai.request.model"] == "gpt-5-mini"
        assert failed["error.type"] == "overloaded"
    assert third["gen_ai.operation.name"] == "chat"
    assert third["gen_ai.provider.name"] == "anthropic"
    assert third["gen_ai.request.model"] == "claude-backup-model"
    assert third["gen_ai.response.model"]
    assert third["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert third["gen_ai.usage.input_tokens"] > 0 and third["gen_ai.usage.output_tokens"] > 0  # type: ignore[operator]
    assert "error.type" not in third

    # each upstream request carried its own attempt's span as the parent, in the same trace
    sent = [r.headers.get("traceparent") for r in fake.requests]
    assert sent == [f"00-{CLIENT_TRACE}-{s.context.span_id:016x}-01" for s in attempts]

    (line,) = [entry for entry in logs if entry["event"] == "request.completed"]
    assert line["trace_id"] == CLIENT_TRACE
    everything = repr([(s.name, dict(s.attributes or {}), s.events) for s in finished])
    assert SECRET_TEXT not in everything and "sk-primary" not in everything


async def test_a_streams_attempt_span_ends_with_the_stream_and_its_usage(
    spans: InMemorySpanExporter, fake: FakeUpstream
) -> None:
    app = build_asgi(parse_config(config(fake.url, "httptools"), source="test", env={}))
    async with AsyncTestClient(app=app) as client:
        answer = await client.post(
            "/openai/v1/chat/completions",
            json={"model": "gpt-5-mini", "stream": True, "stream_options": {"include_usage": True},
                  "messages": [{"role": "user", "content": "hi"}]},
        )  # fmt: skip
    assert answer.status_code == 200
    finished = spans.get_finished_spans()
    (server,) = by_kind(finished, SpanKind.SERVER)
    (attempt,) = by_kind(finished, SpanKind.CLIENT)
    assert server.parent is None  # no traceparent came: a new trace
    attributes = dict(attempt.attributes or {})
    assert attributes["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert attributes["gen_ai.usage.output_tokens"] > 0  # type: ignore[operator]
    assert (attempt.end_time or 0) <= (server.end_time or 0)
    assert fake.requests[0].headers["traceparent"].split("-")[1] == f"{server.context.trace_id:032x}"


async def test_without_tracing_nothing_is_traced_or_sent(fake: FakeUpstream) -> None:
    app = build_asgi(parse_config(config(fake.url, "httptools"), source="test", env={}))
    async with AsyncTestClient(app=app) as client:
        with capture_logs() as logs:
            answer = await client.post(
                "/openai/v1/chat/completions", json={"model": "gpt-5-mini", "messages": [{"role": "user", "content": "hi"}]}
            )
    assert answer.status_code == 200
    assert "traceparent" not in fake.requests[0].headers
    (line,) = [entry for entry in logs if entry["event"] == "request.completed"]
    assert "trace_id" not in line


def test_tracing_is_off_unless_an_endpoint_or_exporter_is_set() -> None:
    assert from_settings(TelemetryConfig(), env={}) is None
    assert from_settings(TelemetryConfig(otlp_endpoint="http://127.0.0.1:4318"), env={"OTEL_SDK_DISABLED": "true"}) is None
    assert from_settings(TelemetryConfig(otlp_endpoint="http://127.0.0.1:4318"), env={"OTEL_TRACES_EXPORTER": "none"}) is None
    for telemetry, env in (
        (TelemetryConfig(otlp_endpoint="http://127.0.0.1:4318"), {}),
        (TelemetryConfig(), {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}),
        (TelemetryConfig(), {"OTEL_TRACES_EXPORTER": "console"}),
    ):
        tracing = from_settings(telemetry, env=env)
        assert tracing is not None
        tracing.shutdown()


def test_the_otel_variables_win_over_the_config() -> None:
    telemetry = TelemetryConfig(service_name="from-config", sample_ratio=0.5)
    provider = tracer_provider(telemetry, env={})
    assert provider.resource.attributes["service.name"] == "from-config"
    assert "0.5" in provider.sampler.get_description()
    provider = tracer_provider(telemetry, env={"OTEL_SERVICE_NAME": "from-env", "OTEL_TRACES_SAMPLER": "always_on"})
    assert "0.5" not in provider.sampler.get_description()
