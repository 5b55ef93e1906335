"""The real server exports its spans over OTLP/HTTP when told to, by the OTEL_* variables or by
``telemetry.otlp_endpoint``: a local receiver gets the request's server span and its attempt's
client span, in the trace the client's ``traceparent`` named, and the access-log line says it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.e2e.launcher import launch
from tests.fakes.upstream import FakeUpstream

TRACE = "0af7651916cd43dd8448eb211c80319c"
PARENT = "b7ad6b7169203331"


class Receiver:
    """An OTLP/HTTP trace receiver on loopback: the spans it was sent, by name."""

    def __init__(self) -> None:
        self.spans: list[object] = []
        self.paths: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server hook
                body = self.rfile.read(int(self.headers["content-length"]))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                receiver.paths.append(self.path)
                for resource in request.resource_spans:
                    for scope in resource.scope_spans:
                        receiver.spans.extend((resource.resource, span) for span in scope.spans)
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float = 10.0) -> list[object]:
        deadline = time.monotonic() + timeout
        while len(self.spans) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.spans


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.server.shutdown()


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeUpstream]:
    server = FakeUpstream().start_in_thread()
    yield server
    server.stop()


@pytest.mark.parametrize("configured_by", ["environment", "config"])
def test_spans_reach_an_otlp_receiver(receiver: Receiver, fake: FakeUpstream, tmp_path: Path, configured_by: str) -> None:
    fake.reset()
    telemetry = f"telemetry: {{otlp_endpoint: {receiver.url}, service_name: gw-under-test}}"
    env = {"OTEL_BSP_SCHEDULE_DELAY": "50"}
    if configured_by == "environment":
        telemetry = ""
        env |= {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_SERVICE_NAME": "gw-under-test"}
    config = f"""
server: {{log_level: info}}
apps:
  - {{name: oa, frontdoor: openai, path: /openai}}
providers:
  - {{name: up, type: openai, api_key: sk-up, base_url: "{fake.url}/v1"}}
routing: {{default_provider: up}}
{telemetry}
"""
    with launch(config, tmp_path, env=env) as gateway:
        answer = gateway.openai().chat.completions.with_raw_response.create(
            model="gpt-5-mini", messages=[{"role": "user", "content": "hi"}],
            extra_headers={"traceparent": f"00-{TRACE}-{PARENT}-01", "x-request-id": "traced-1"},
        )  # fmt: skip
        assert answer.http_response.status_code == 200
        spans = receiver.wait(2)
        line = gateway.access_log("traced-1")
    assert receiver.paths and set(receiver.paths) == {"/v1/traces"}
    by_kind = {span.kind: (resource, span) for resource, span in spans}  # type: ignore[attr-defined]
    server_resource, server = by_kind[2]  # SPAN_KIND_SERVER
    _, client = by_kind[3]  # SPAN_KIND_CLIENT
    assert server.trace_id.hex() == client.trace_id.hex() == TRACE
    assert server.parent_span_id.hex() == PARENT and client.parent_span_id == server.span_id
    names = {a.key: a.value.string_value for a in server_resource.attributes}
    assert names["service.name"] == "gw-under-test"
    attributes = {a.key for a in client.attributes}
    assert {"gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "gen_ai.response.model",
            "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.response.finish_reasons"} <= attributes
    assert fake.requests[0].headers["traceparent"] == f"00-{TRACE}-{client.span_id.hex()}-01"
    assert line["trace_id"] == TRACE
