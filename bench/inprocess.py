"""The gateway's own layers per request, in-process: the steadiest figure on a shared machine.

    python -m bench.inprocess [CHECKOUT [PATH ...]]

The ASGI app (access-log layer, Litestar, frontdoor, service, provider, codecs) is driven
directly, with a fake HTTP client that answers at once: no sockets, no uvicorn, no HTTP client
library. So this is the CPU that routing, translation, resilience and logging add to every
request, and it varies little between runs. ``python -m bench.inprocess [CHECKOUT]`` measures
this checkout or another one (e.g. a ``--compare`` worktree under bench/.work/); it prints microseconds per
request, the minimum of 5 rounds (3,000 requests, 600 for a stream), for a same-protocol and a
translated path of each frontdoor, non-streaming then streaming (the bench's 40-frame upstream
streams, handed over line by line as the HTTP clients do). Names after the checkout pick paths
(``python -m bench.inprocess . openai-openai-stream``).
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
_OPENAI, _ANTHROPIC = "/openai/v1/chat/completions", "/anthropic/v1/messages"
_STREAM_USAGE = {"stream": True, "stream_options": {"include_usage": True}}


_HELLO = [{"role": "user", "content": "Hello!"}]


def _body(model: str, **params: object) -> bytes:
    return msgspec.json.encode({"model": model, **params, "messages": _HELLO})


PATHS = [
    ("openai-openai", _OPENAI, _body("gpt-4o-mini")),
    ("openai-anthropic", _OPENAI, _body("claude-3")),
    ("anthropic-anthropic", _ANTHROPIC, _body("claude-3", max_tokens=64)),
    ("anthropic-openai", _ANTHROPIC, _body("gpt-4o-mini", max_tokens=64)),
    ("openai-openai-stream", _OPENAI, _body("gpt-4o-mini", **_STREAM_USAGE)),
    ("openai-anthropic-stream", _OPENAI, _body("claude-3", **_STREAM_USAGE)),
    ("anthropic-anthropic-stream", _ANTHROPIC, _body("claude-3", max_tokens=64, stream=True)),
    ("anthropic-openai-stream", _ANTHROPIC, _body("gpt-4o-mini", max_tokens=64, stream=True)),
]


def build() -> object:
    from collections.abc import AsyncIterator
    from contextlib import asynccontextmanager

    from adapters.outbound.http import UpstreamResponse
    from app.asgi import create_app
    from app.middleware import AccessLogMiddleware
    from bench.upstream import anthropic_stream_frames, openai_stream_frames
    from infrastructure.config.loader import parse_config
    from infrastructure.container import Container
    from infrastructure.http import HttpPool

    fixtures = HERE / "tests" / "fixtures"

    class FakeStream:
        status = 200
        headers: dict[str, str] = {}  # noqa: RUF012

        def __init__(self, lines: list[bytes]) -> None:
            self._lines = lines

        async def read(self) -> bytes:
            return b""

        async def lines(self) -> AsyncIterator[bytes]:
            for line in self._lines:
                yield line

    class FakeHttp:
        def __init__(self, body: bytes, frames: list[bytes]) -> None:
            self.body = body
            self.lines = b"".join(frames).split(b"\n")[:-1]  # as the HTTP port's lines() hands them over

        async def post(self, url: str, headers: object, body: bytes) -> UpstreamResponse:
            return UpstreamResponse(200, {}, self.body)

        @asynccontextmanager
        async def stream(self, url: str, headers: object, body: bytes) -> AsyncIterator[FakeStream]:
            yield FakeStream(self.lines)

        async def aclose(self) -> None:
            pass

    loaded = parse_config(CONFIG, source="bench", env={})
    container = Container(loaded=loaded)
    openai = FakeHttp((fixtures / "openai/chat_text.json").read_bytes(), openai_stream_frames())
    anthropic = FakeHttp((fixtures / "anthropic/message_text.json").read_bytes(), anthropic_stream_frames())
    pool = HttpPool({"oa": openai, "an": anthropic})
    container.http_pool.override(pool)
    return AccessLogMiddleware(create_app(loaded, container))


async def call(app: object, path: str, body: bytes) -> None:
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
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8080),
             "state": {}}  # fmt: skip
    await app(scope, receive, send)  # type: ignore[operator]
    assert sent[0]["status"] == 200, sent


async def main() -> None:
    app = build()
    for name, path, body in PATHS:
        if ONLY and name not in ONLY:
            continue
        count = 600 if name.endswith("-stream") else 3000
        for _ in range(count // 6):
            await call(app, path, body)
        rounds = []
        for _ in range(5):
            started = time.process_time()
            for _ in range(count):
                await call(app, path, body)
            rounds.append((time.process_time() - started) / count * 1e6)
        print(f"{name:22s} {min(rounds):6.1f} us/request", file=sys.stderr, flush=True)


if __name__ == "__main__":
    os.chdir(ROOT)
    from infrastructure.logging import configure_logging

    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the access log goes nowhere
    configure_logging("info")
    import uvloop

    uvloop.install()
    asyncio.run(main())
