"""Memory and GC cost of open streams, in-process: the steadiest figure for the open-streams test.

    python -m bench.held_streams [N] [--keyed] [--frames K]

Drives the ASGI app (access-log layer, Litestar, frontdoor, service, provider, codecs; metrics
on, as the server runs) directly, with a fake upstream that sends the first K frames of the
bench's 40-frame OpenAI stream and then holds the stream open. Once all N streams have sent
their first body bytes it reports, against the heap before they started: tracemalloc bytes per
open stream, GC-tracked objects per open stream, and the time of a full collection
(``gc.collect()``, timed by ``gc.callbacks``) with the N streams held. Then it lets every stream
finish and checks that each ended. ``--keyed`` sends a gateway key with rpm/tpm limits
(in-process state). ``--no-gc-tuning`` skips the server's start-up GC settings
(``app.gc_tuning``) to compare.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import time
import tracemalloc

from bench.inprocess import _KEYED, _OPENAI, _STREAM_USAGE, CONFIG, KEYS, HERE, _body


def _build(keyed: bool, frames: int, release: asyncio.Event) -> object:
    from collections.abc import AsyncIterator
    from contextlib import asynccontextmanager

    from dependency_injector import providers

    from adapters.outbound.http import UpstreamResponse
    from app.asgi import build_asgi
    from bench.upstream import openai_stream_frames
    from infrastructure.config.loader import parse_config
    from infrastructure.container import Container
    from infrastructure.http import HttpPool
    from infrastructure.metrics import GatewayMetrics

    lines = b"".join(openai_stream_frames()).split(b"\n")[:-1]
    head: list[bytes] = []
    count = 0
    for index, line in enumerate(lines):  # the lines of the first ``frames`` frames
        if not line:
            count += 1
            if count == frames:
                head, tail = lines[: index + 1], lines[index + 1 :]
                break
    else:
        head, tail = lines, []

    class HeldStream:
        status = 200
        headers: dict[str, str] = {}  # noqa: RUF012

        async def read(self) -> bytes:
            return b""

        async def lines(self) -> AsyncIterator[bytes]:
            for line in head:
                yield line
            await release.wait()
            for line in tail:
                yield line

    class FakeHttp:
        async def post(self, url: str, headers: object, body: bytes) -> UpstreamResponse:
            raise AssertionError("streams only")

        @asynccontextmanager
        async def stream(self, url: str, headers: object, body: bytes) -> AsyncIterator[HeldStream]:
            yield HeldStream()

        async def aclose(self) -> None:
            pass

    loaded = parse_config(CONFIG + (KEYS if keyed else ""), source="bench", env={})
    container = Container(loaded=loaded)
    container.metrics.override(providers.Object(GatewayMetrics()))
    container.http_pool.override(HttpPool({"oa": FakeHttp(), "an": FakeHttp()}))
    return build_asgi(loaded, container)


async def _stream(app: object, body: bytes, extra: list[tuple[bytes, bytes]], first: asyncio.Event,
                  counter: list[int], n: int, ended: list[int]) -> None:  # fmt: skip
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    got_first = False

    async def receive() -> dict[str, object]:
        if messages:
            return messages.pop()
        await asyncio.Future()  # the client stays
        return {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        nonlocal got_first
        if message["type"] == "http.response.body":
            if not got_first and message.get("body"):
                got_first = True
                counter[0] += 1
                if counter[0] == n:
                    first.set()
            if not message.get("more_body", False):
                ended[0] += 1

    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": _OPENAI, "raw_path": _OPENAI.encode(), "query_string": b"",
             "root_path": "", "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8080),
             "state": {}}  # fmt: skip
    await app(scope, receive, send)  # type: ignore[operator]


async def main(n: int, keyed: bool, frames: int) -> None:
    release = asyncio.Event()
    app = _build(keyed, frames, release)
    body = _body("gpt-4o-mini", **_STREAM_USAGE)
    extra = _KEYED if keyed else []
    # warm up: every code path and cache touched once, every stream ended
    warm = asyncio.Event()
    warm.set()
    warm_app = _build(keyed, frames, warm)
    for _ in range(50):
        await _stream(warm_app, body, extra, asyncio.Event(), [0], 50, [0])
    del warm_app
    gc.collect()
    objects_before = len(gc.get_objects())
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    first, counter, ended = asyncio.Event(), [0], [0]
    tasks = [asyncio.create_task(_stream(app, body, extra, first, counter, n, ended)) for _ in range(n)]
    await first.wait()
    await asyncio.sleep(0.2)  # the access layer's watcher timers fire (WATCH_AFTER)
    gc.collect()
    after = tracemalloc.take_snapshot()
    objects_after = len(gc.get_objects())
    tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    print(f"open streams          {n}")
    print(f"bytes per stream      {grown / n:,.0f}")
    print(f"gc objects per stream {(objects_after - objects_before) / n:,.1f}")
    print(f"gc tracked objects    {objects_after:,}")
    top = after.compare_to(before, "lineno")[:12]
    for stat in top:
        frame = stat.traceback[0]
        name = os.path.relpath(frame.filename, HERE) if frame.filename.startswith(str(HERE)) else frame.filename
        print(f"  {stat.size_diff / n:8.0f} B {stat.count_diff / n:6.1f} blocks  {name}:{frame.lineno}")
    pauses: list[float] = []
    started = [0.0]

    def timing(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        elif info["generation"] == 2:
            pauses.append(time.perf_counter() - started[0])

    gc.callbacks.append(timing)
    for _ in range(5):
        gc.collect()
    gc.callbacks.remove(timing)
    print(f"full collection ms    {min(pauses) * 1000:.1f} (min of 5)")
    release.set()
    await asyncio.gather(*tasks)
    assert ended[0] == n, (ended[0], n)
    print(f"completed             {ended[0]}")


if __name__ == "__main__":
    args = sys.argv[1:]
    if any(arg in ("-h", "--help") for arg in args):
        print(__doc__)
        sys.exit(0)
    keyed = "--keyed" in args
    tuning = "--no-gc-tuning" not in args
    frames = int(args[args.index("--frames") + 1]) if "--frames" in args else 2
    numbers = [arg for arg in args if arg.isdigit() and (not "--frames" in args or arg != str(frames))]
    n = int(numbers[0]) if numbers else 2000
    os.chdir(HERE)
    state_file = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"bench-gateway-state-{os.getpid()}.sqlite3")
    os.environ["GATEWAY_STATE_FILE"] = state_file
    from infrastructure.logging import configure_logging

    sys.stdout, out = open(os.devnull, "w"), sys.stdout  # noqa: SIM115 - the access log goes nowhere
    configure_logging("info")
    import builtins

    def show(*parts: object, **kw: object) -> None:
        builtins.print(*parts, file=out, flush=True)

    print = show  # noqa: A001
    import uvloop

    uvloop.install()
    try:
        asyncio.run(main(n, keyed, frames))
    finally:
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(state_file + suffix):
                os.remove(state_file + suffix)
