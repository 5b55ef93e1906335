"""OpenTelemetry traces: a server span per request, a client span per upstream attempt.

Off unless configured: by the standard variables (``OTEL_EXPORTER_OTLP_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, ``OTEL_TRACES_EXPORTER`` = ``otlp`` or ``console``;
``none`` or ``OTEL_SDK_DISABLED=true`` turn it off), or by ``telemetry.otlp_endpoint`` in the
config. The variables win: an endpoint, ``OTEL_SERVICE_NAME`` and ``OTEL_TRACES_SAMPLER`` set
there replace ``otlp_endpoint``, ``service_name`` and ``sample_ratio``. Spans go out over OTLP/HTTP
in batches from each worker process. Tracing is set up once per process: a reload does not
change it.

The access-log layer starts the request's SERVER span, continuing an incoming W3C
``traceparent``, and sets ``record.trace_id`` (so the access-log line carries it); the service
starts a CLIENT span per upstream attempt under it (retries and failovers are siblings); each
provider's HTTP client is wrapped (``TracedHttpClient``) so the upstream request carries the
attempt's ``traceparent``, whichever client (httptools or httpx) sends it. Spans carry the
OpenTelemetry GenAI attributes (operation, provider, request and response model, token usage,
finish reasons) and never message content. When tracing is off none of this exists: the
access-log layer and the service each test for a tracer once per request, and the HTTP clients
are not wrapped.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

import msgspec
import structlog
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from adapters.outbound.http import HttpClient, UpstreamResponse, UpstreamStream
from domain.ir import ChatResponse
from domain.ports import ChatProvider
from domain.request_record import RequestRecord
from infrastructure.config.schema import TelemetryConfig

log = structlog.get_logger(__name__)

class _Choice(msgspec.Struct):
    finish_reason: str | None = None


class _Finish(msgspec.Struct):
    """What a relayed answer says of why it ended: OpenAI's per choice, Anthropic's once."""

    choices: list[_Choice] = []
    stop_reason: str | None = None


_finish_decoder = msgspec.json.Decoder(_Finish)


def _native_finish_reasons(response: ChatResponse) -> list[str]:
    """The finish reasons of an answer relayed as received (the native path reads none of its
    choices): read here, only for a recorded span."""
    native = response.native
    if isinstance(native, msgspec.UnsetType):
        return []
    try:
        finish = _finish_decoder.decode(native.body)
    except msgspec.MsgspecError:
        return []
    reasons = [choice.finish_reason for choice in finish.choices if choice.finish_reason]
    return reasons or ([finish.stop_reason] if finish.stop_reason else [])


_PROPAGATOR = TraceContextTextMapPropagator()
_TRACE_HEADERS = (b"traceparent", b"tracestate")


class ServerSpan:
    """A request's span, current while the request runs."""

    __slots__ = ("span", "token")

    def __init__(self, span: Span, token: object) -> None:
        self.span = span
        self.token = token

    def end(self, record: RequestRecord, status: int) -> None:
        otel_context.detach(self.token)  # type: ignore[arg-type]
        span = self.span
        if span.is_recording():
            span.set_attribute("http.response.status_code", status)
            if record.app:
                span.set_attribute("gateway.app", record.app)
            if record.model is not None:
                span.update_name(f"chat {record.model}")
                span.set_attribute("gen_ai.operation.name", "chat")
                span.set_attribute("gen_ai.request.model", record.model)
            if record.provider is not None:
                span.set_attribute("gen_ai.provider.name", record.upstream_protocol or record.provider)
                span.set_attribute("gateway.provider", record.provider)
            _usage(span, record.input_tokens, record.output_tokens)
            if record.stream_error is not None:
                span.set_attribute("error.type", record.stream_error)
                span.set_status(Status(StatusCode.ERROR))
            elif status >= 500:
                span.set_attribute("error.type", str(status))
                span.set_status(Status(StatusCode.ERROR))
        span.end()


class AttemptSpan:
    """One upstream attempt's span (``domain.ports.AttemptSpan``)."""

    __slots__ = ("span", "token")

    def __init__(self, span: Span) -> None:
        self.span = span
        self.token: object | None = otel_context.attach(trace.set_span_in_context(span))

    def detach(self) -> None:
        if self.token is not None:
            otel_context.detach(self.token)  # type: ignore[arg-type]
            self.token = None

    def end(
        self, error: str | None = None, response: ChatResponse | None = None, *,
        model: str | None = None, finish_reason: str | None = None, record: RequestRecord | None = None,
    ) -> None:
        self.detach()
        span = self.span
        if span.is_recording():
            if error is not None:
                span.set_attribute("error.type", error)
                span.set_status(Status(StatusCode.ERROR))
            if response is not None:
                model, finish_reason = response.model, response.stop_reason
                usage = response.usage
                _usage(span, usage.input_tokens, usage.output_tokens)
                if finish_reason is None and (reasons := _native_finish_reasons(response)):
                    span.set_attribute("gen_ai.response.finish_reasons", reasons)
            elif record is not None:
                _usage(span, record.input_tokens, record.output_tokens)
            if model:
                span.set_attribute("gen_ai.response.model", model)
            if finish_reason is not None:
                span.set_attribute("gen_ai.response.finish_reasons", [str(finish_reason)])
        span.end()


def _usage(span: Span, input_tokens: object, output_tokens: object) -> None:
    if isinstance(input_tokens, int):
        span.set_attribute("gen_ai.usage.input_tokens", input_tokens)
    if isinstance(output_tokens, int):
        span.set_attribute("gen_ai.usage.output_tokens", output_tokens)


class Tracing:
    """The process's tracer: starts the spans (see the module's docstring)."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self.tracer = provider.get_tracer("poly-llm-gateway")

    def start_server(self, scope: Mapping[str, Any], record: RequestRecord) -> ServerSpan:
        carrier: dict[str, str] | None = None
        for name, value in scope["headers"]:
            if name in _TRACE_HEADERS:
                carrier = carrier or {}
                carrier[name.decode()] = value.decode("latin-1")
        parent = _PROPAGATOR.extract(carrier) if carrier else None
        method = scope["method"]
        span = self.tracer.start_span(
            method, context=parent, kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": scope["path"]},
        )  # fmt: skip
        context = span.get_span_context()
        if context.is_valid:
            record.trace_id = format(context.trace_id, "032x")
        return ServerSpan(span, otel_context.attach(trace.set_span_in_context(span)))

    def attempt(self, record: RequestRecord, provider: ChatProvider, model: str) -> AttemptSpan:
        span = self.tracer.start_span(
            f"chat {model}", kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": "chat", "gen_ai.provider.name": provider.protocol,
                "gen_ai.request.model": model, "gateway.provider": provider.name,
                "gateway.attempt": len(record.attempts) + 1,
            },
        )  # fmt: skip
        return AttemptSpan(span)

    def shutdown(self) -> None:
        self.provider.shutdown()


def with_trace_context(headers: Mapping[str, str]) -> dict[str, str]:
    """``headers`` plus the current span's ``traceparent`` (and ``tracestate``)."""
    carrier = dict(headers)
    _PROPAGATOR.inject(carrier)
    return carrier


class TracedHttpClient:
    """An upstream HTTP client (the port) whose requests carry the current trace context."""

    def __init__(self, inner: HttpClient) -> None:
        self.inner = inner

    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> UpstreamResponse:
        return await self.inner.post(url, with_trace_context(headers), body)

    def stream(
        self, url: str, headers: Mapping[str, str], body: bytes
    ) -> AbstractAsyncContextManager[UpstreamStream]:
        return self.inner.stream(url, with_trace_context(headers), body)

    async def aclose(self) -> None:
        await self.inner.aclose()


# ---- set-up -----------------------------------------------------------------------------------
def from_settings(telemetry: TelemetryConfig, env: Mapping[str, str] | None = None) -> Tracing | None:
    """The tracer ``telemetry`` and the OTEL_* variables ask for, or None (tracing off)."""
    env = os.environ if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    exporter_name = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if exporter_name == "none" or not (exporter_name or endpoint or telemetry.otlp_endpoint):
        return None
    exporter: SpanExporter
    if exporter_name == "console":
        exporter = ConsoleSpanExporter()
    else:
        if exporter_name not in ("", "otlp"):
            log.warning("tracing.exporter_unsupported", exporter=exporter_name, using="otlp")
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # The exporter reads the variables itself; the config's endpoint is a base URL, as theirs.
        url = None if endpoint else telemetry.otlp_endpoint.rstrip("/") + "/v1/traces"
        exporter = OTLPSpanExporter(endpoint=url)
    provider = tracer_provider(telemetry, env)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return Tracing(provider)


def tracer_provider(telemetry: TelemetryConfig, env: Mapping[str, str] | None = None) -> TracerProvider:
    """A provider with the service name and sampler of ``telemetry``, unless the variables set them."""
    env = os.environ if env is None else env
    attributes = {} if env.get("OTEL_SERVICE_NAME") else {"service.name": telemetry.service_name}
    ratio = telemetry.sample_ratio
    sampler = None if env.get("OTEL_TRACES_SAMPLER") else ParentBased(TraceIdRatioBased(ratio))
    return TracerProvider(resource=Resource.create(attributes), sampler=sampler)


_active: Tracing | None = None
_set_up = False


def start_tracing(telemetry: TelemetryConfig) -> Tracing | None:
    """The process's tracing, set up on the first call (later calls return the same)."""
    global _active, _set_up
    if not _set_up:
        _set_up = True
        _active = from_settings(telemetry)
        if _active is not None:
            log.info("tracing.enabled", service=telemetry.service_name)
    return _active


def active_tracing() -> Tracing | None:
    return _active


def install(tracing: Tracing | None) -> None:
    """Use ``tracing`` in this process from now on (tests: an in-memory exporter)."""
    global _active, _set_up
    _active, _set_up = tracing, tracing is not None
