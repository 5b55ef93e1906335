"""The gateway's own layers per request, in-process: the steadiest figure on a shared machine.

    python -m bench.inprocess [CHECKOUT [PATH ...]]

The ASGI app (access-log layer, Litestar, frontdoor, service, provider, codecs) is driven
directly, with a fake HTTP client that answers at once: no sockets, no uvicorn, no HTTP client
library. So this is the CPU that routing, translation, resilience and logging add to every
request, and it varies little between runs. ``python -m bench.inprocess [CHECKOUT]`` measures
this checkout or another one (e.g. a ``--compare`` worktree under bench/.work/); it prints microseconds per
request, the minimum of 5 rounds (3,000 requests, 600 for a stream), for a same-protocol and a
translated path of each frontdoor, and the Responses API on each upstream protocol, non-streaming
then streaming (the bench's 40-frame upstream streams, handed over line by line as the HTTP
clients do: a checkout whose HTTP port hands over frames gets them decoded a frame per read, as
a token-by-token upstream sends them). Names after the checkout pick paths
(``python -m bench.inprocess . openai-openai-stream``). The ``-key`` paths are the same requests
with a gateway key that has rpm and tpm limits (in-process state): the policy's own cost is the
difference with the path without the suffix.

Each path is measured three ways side by side, their rounds interleaved so that the machine's
drift falls on all three alike: without metrics (``off``), with the Prometheus metrics (what
the server runs), and with metrics and tracing (every request sampled, spans batched to an
exporter that drops them, the trace context added to every upstream request). A checkout
without metrics is measured ``off`` only.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import msgspec

if any(arg in ("-h", "--help") for arg in sys.argv[1:]):
    print(__doc__)
    sys.exit(0)
HERE = Path(__file__).resolve().parent.parent
ROOT = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else HERE
ONLY = set(sys.argv[2:])
sys.path.insert(0, str(ROOT))

CONFIG = """
server: {access_log: true}
apps:
  - {name: o, frontdoor: openai, path: /openai}
  - {name: a, frontdoor: anthropic, path: /anthropic}
providers:
  - {name: oa, type: openai, api_key: k, base_url: "http://x/v1"}
  - {name: an, type: anthropic, api_key: k, base_url: "http://y"}
routing:
  rules: [{model_prefix: claude, provider: an}]
  default_provider: oa
"""
BENCH_KEY = "sk-bench-gateway-key-0123456789"
KEYS = f"""
auth:
  keys:
    - {{name: bench, key: {BENCH_KEY}, limits: {{rpm: 100000000, tpm: 1000000000}}}}
"""
_KEYED = [(b"authorization", f"Bearer {BENCH_KEY}".encode())]
_OPENAI, _ANTHROPIC = "/openai/v1/chat/completions", "/anthropic/v1/messages"
_RESPONSES = "/openai/v1/responses"
_STREAM_USAGE = {"stream": True, "stream_options": {"include_usage": True}}


_HELLO = [{"role": "user", "content": "Hello!"}]


def _body(model: str, **params: object) -> bytes:
    return msgspec.json.encode({"model": model, **params, "messages": _HELLO})


def _responses(model: str, **params: object) -> bytes:
    body = {"model": model, "instructions": "Be concise.", "input": "Hello!", "max_output_tokens": 64}
    body.update(params)
    return msgspec.json.encode(body)


PATHS = [
    ("openai-openai", _OPENAI, _body("gpt-4o-mini")),
    ("openai-anthropic", _OPENAI, _body("claude-3")),
    ("anthropic-anthropic", _ANTHROPIC, _body("claude-3", max_tokens=64)),
    ("anthropic-openai", _ANTHROPIC, _body("gpt-4o-mini", max_tokens=64)),
    ("openai-openai-stream", _OPENAI, _body("gpt-4o-mini", **_STREAM_USAGE)),
    ("openai-anthropic-stream", _OPENAI, _body("claude-3", **_STREAM_USAGE)),
    ("anthropic-anthropic-stream", _ANTHROPIC, _body("claude-3", max_tokens=64, stream=True)),
    ("anthropic-openai-stream", _ANTHROPIC, _body("gpt-4o-mini", max_tokens=64, stream=True)),
    # The Responses API (store left at its default, true: each turn is kept in the process)
    ("responses-anthropic", _RESPONSES, _responses("claude-3")),
    ("responses-openai", _RESPONSES, _responses("gpt-4o-mini")),
    ("responses-anthropic-stream", _RESPONSES, _responses("claude-3", stream=True)),
    ("responses-openai-stream", _RESPONSES, _responses("gpt-4o-mini", stream=True)),
    ("openai-openai-key", _OPENAI, _body("gpt-4o-mini")),
    ("anthropic-anthropic-key", _ANTHROPIC, _body("claude-3", max_tokens=64)),
    ("openai-openai-stream-key", _OPENAI, _body("gpt-4o-mini", **_STREAM_USAGE)),
]


MODES = ("off", "metrics", "tracing")


def build(mode: str = "off", config: str = CONFIG) -> object:
    from collections.abc import AsyncIterator
    from contextlib import asynccontextmanager

    from adapters.outbound.http import UpstreamResponse
    from app.asgi import build_asgi
    from bench.upstream import anthropic_stream_frames, openai_stream_frames
    from infrastructure.config.loader import parse_config
    from infrastructure.container import Container
    from infrastructure.http import HttpPool

    fixtures = HERE / "tests" / "fixtures"

    class FakeStream:
        status = 200
        headers: dict[str, str] = {}  # noqa: RUF012

        def __init__(self, lines: list[bytes], reads: list[list[bytes]]) -> None:
            self._lines = lines
            self._reads = reads

        async def read(self) -> bytes:
            return b""

        async def lines(self) -> AsyncIterator[bytes]:  # a checkout whose port hands over lines
            for line in self._lines:
                yield line

        async def frames(self) -> AsyncIterator[list[object]]:  # one whose port hands over frames
            from adapters.protocols.sse import SSEDecoder

            decoder = SSEDecoder()
            for read in self._reads:  # decoded here, as the HTTP port decodes each read
                if batch := decoder.feed(read):
                    yield batch

    class FakeHttp:
        def __init__(self, body: bytes, frames: list[bytes]) -> None:
            self.body = body
            self.lines = b"".join(frames).split(b"\n")[:-1]  # as the HTTP port's lines() hands them over
            self.reads = [frame.split(b"\n")[:-1] for frame in frames]  # one frame per read

        async def post(self, url: str, headers: object, body: bytes) -> UpstreamResponse:
            return UpstreamResponse(200, {}, self.body)

        @asynccontextmanager
        async def stream(self, url: str, headers: object, body: bytes) -> AsyncIterator[FakeStream]:
            yield FakeStream(self.lines, self.reads)

        async def aclose(self) -> None:
            pass

    loaded = parse_config(config, source="bench", env={})
    container = Container(loaded=loaded)
    openai = FakeHttp((fixtures / "openai/chat_text.json").read_bytes(), openai_stream_frames())
    anthropic = FakeHttp((fixtures / "anthropic/message_text.json").read_bytes(), anthropic_stream_frames())
    pool = HttpPool({"oa": openai, "an": anthropic})
    if mode == "off":
        if hasattr(container, "metrics"):  # a checkout with metrics: without them
            from dependency_injector import providers

            container.metrics.override(providers.Object(None))
        container.http_pool.override(pool)
        return build_asgi(loaded, container)  # what the server runs, without reloading
    from dependency_injector import providers

    from infrastructure.metrics import GatewayMetrics
    from infrastructure.tracing import install

    container.metrics.override(providers.Object(GatewayMetrics()))
    tracing = _dropping_tracing() if mode == "tracing" else None
    install(tracing)  # read by build_asgi and the container
    container.http_pool.override(pool.traced(tracing))
    try:
        return build_asgi(loaded, container)
    finally:
        install(None)


def _dropping_tracing() -> object:
    """Tracing as the server runs it (batched export, every request sampled), spans dropped."""
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    from infrastructure.config.schema import TelemetryConfig
    from infrastructure.tracing import Tracing, tracer_provider

    class Drop(SpanExporter):
        def export(self, spans: object) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = tracer_provider(TelemetryConfig(), env={})
    provider.add_span_processor(BatchSpanProcessor(Drop()))
    return Tracing(provider)


async def call(app: object, path: str, body: bytes, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        if messages:
            return messages.pop()
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if extra:
        headers += extra
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8080),
             "state": {}}  # fmt: skip
    await app(scope, receive, send)  # type: ignore[operator]
    assert sent[0]["status"] == 200, sent


async def main() -> None:
    from infrastructure.container import Container

    modes = MODES if hasattr(Container, "metrics") else ("off",)  # a checkout that has metrics
    apps = {mode: build(mode) for mode in modes}
    keyed: dict[str, object] | None = None
    print(f"{'us/request':26s}" + "".join(f"{mode:>9s}" for mode in modes), file=sys.stderr, flush=True)
    for name, path, body in PATHS:
        if ONLY and name not in ONLY:
            continue
        targets, extra = apps, None
        if name.endswith("-key"):
            if keyed is None:
                try:
                    keyed = {mode: build(mode, CONFIG + KEYS) for mode in modes}
                except Exception:  # noqa: BLE001 - a checkout from before gateway keys
                    print(f"{name:26s} (no gateway keys in this checkout)", file=sys.stderr, flush=True)
                    continue
            targets, extra = keyed, _KEYED
        count = 600 if name.removesuffix("-key").endswith("-stream") else 3000
        for app in targets.values():
            for _ in range(count // 6):
                await call(app, path, body, extra)
        rounds: dict[str, list[float]] = {mode: [] for mode in modes}
        for _ in range(5):
            for mode, app in targets.items():
                started = time.process_time()
                for _ in range(count):
                    await call(app, path, body, extra)
                rounds[mode].append((time.process_time() - started) / count * 1e6)
        figures = "".join(f"{min(rounds[mode]):9.1f}" for mode in modes)
        print(f"{name:26s}{figures}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    os.chdir(ROOT)
    # the keyed paths' usage file: out of the checkout, one per run
    state_file = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"bench-gateway-state-{os.getpid()}.sqlite3")
    os.environ["GATEWAY_STATE_FILE"] = state_file
    from infrastructure.logging import configure_logging

    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the access log goes nowhere
    configure_logging("info")
    import uvloop

    uvloop.install()
    try:
        asyncio.run(main())
    finally:
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(state_file + suffix):
                os.remove(state_file + suffix)
