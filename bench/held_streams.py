"""Memory and GC cost of open streams, in-process: the steadiest figure for the open-streams test.

    python -m bench.held_streams [N] [--keyed] [--frames K]
    python -m bench.held_streams [N] --gap SECONDS [--frames K] [--ramp SECONDS]

Drives the ASGI app (access-log layer, Litestar, frontdoor, service, provider, codecs; metrics
on, as the server runs) directly, with a fake upstream that sends the first K frames of the
bench's 40-frame OpenAI stream and then holds the stream open. Once all N streams have sent
their first body bytes it reports, against the heap before they started: tracemalloc bytes per
open stream, GC-tracked objects per open stream, and the time of a full collection
(``gc.collect()``, timed by ``gc.callbacks``) with the N streams held. Then it lets every stream
finish and checks that each ended. ``--keyed`` sends a gateway key with rpm/tpm limits
(in-process state). The scopes carry the disconnect hooks of our server (``app/server.py``),
one connection per stream; ``--no-hooks`` leaves them out (the access-log layer's watcher
task, as under another server). ``--no-gc-tuning`` skips the server's start-up GC settings
(``app/gc_tuning.py``) to compare, ``--gc T0,T1,T2`` tries other thresholds (frozen as well).

With ``--gap`` the streams are paced instead of held, as in the open-streams bench but without
sockets: N streams started over ``--ramp`` seconds (default 10), each K frames (default 30)
that the fake upstream sends on a fixed schedule, one every ``--gap`` seconds. It reports how
late each frame reached the client's ``send`` against its schedule (p50, p99, max), the full
collections during the run (count, longest, total), and the RSS growth.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import os
import sys
import time
import tracemalloc

from bench.inprocess import _KEYED, _OPENAI, _STREAM_USAGE, CONFIG, HERE, KEYS, _body

HOOKS = "--no-hooks" not in sys.argv  # the scope has our server's disconnect hooks (app/server.py)


class _Connection:
    """What app/server.py's protocol holds per connection for the disconnect hooks."""

    def __init__(self) -> None:
        self.lost: object = None
        self.extensions = {"gateway.disconnect": (self.watch, self.unwatch)}

    def watch(self, callback: object) -> None:
        self.lost = callback

    def unwatch(self, callback: object) -> None:
        if self.lost == callback:
            self.lost = None


GC_SPEC: list[int] = []  # the thresholds to try; empty: the server's; [0]: no tuning at all


def _tune() -> None:
    """As the server does once its app is built (``app.asgi.from_env``)."""
    from app.gc_tuning import THRESHOLDS, tune_gc

    if GC_SPEC != [0]:
        tune_gc((GC_SPEC[0], GC_SPEC[1], GC_SPEC[2]) if GC_SPEC else THRESHOLDS)


_SCHEDULE: contextvars.ContextVar[list[float]] = contextvars.ContextVar("schedule")


def _build(keyed: bool, frames: int, release: asyncio.Event, gap: float = 0.0) -> object:
    from collections.abc import AsyncIterator
    from contextlib import asynccontextmanager

    from dependency_injector import providers

    from adapters.outbound.http import UpstreamResponse
    from adapters.protocols.sse import SSEDecoder, SSEFrame
    from app.asgi import build_asgi
    from bench.upstream import openai_stream_frames
    from infrastructure.config.loader import parse_config
    from infrastructure.container import Container
    from infrastructure.http import HttpPool
    from infrastructure.metrics import GatewayMetrics

    reads = [frame.split(b"\n")[:-1] for frame in openai_stream_frames()]  # a frame per read
    head, tail = reads[:frames], reads[frames:]  # the first ``frames`` frames

    class HeldStream:
        status = 200
        headers: dict[str, str] = {}  # noqa: RUF012

        async def read(self) -> bytes:
            return b""

        async def frames(self) -> AsyncIterator[list[SSEFrame]]:
            """As the HTTP port hands them over: a frame per read, decoded as it arrives."""
            decoder = SSEDecoder()
            if gap:
                async for batch in self.paced(decoder):
                    yield batch
                return
            for read in head:
                yield decoder.feed(read)
            await release.wait()
            for read in tail:
                yield decoder.feed(read)

        async def paced(self, decoder: SSEDecoder) -> AsyncIterator[list[SSEFrame]]:
            schedule = _SCHEDULE.get()
            loop = asyncio.get_running_loop()
            schedule[0] = start = loop.time()
            for frame, read in enumerate(reads[:frames], 1):
                yield decoder.feed(read)
                delay = start + frame * gap - loop.time()  # the next frame at its time
                if delay > 0:
                    await asyncio.sleep(delay)

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


def _scope(body: bytes, extra: list[tuple[bytes, bytes]]) -> dict[str, object]:
    """An HTTP scope for one POST of ``body`` to the OpenAI chat route, as our server builds it."""
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra]
    scope: dict[str, object] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": _OPENAI, "raw_path": _OPENAI.encode(), "query_string": b"",
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8080),
        "state": {},
    }  # fmt: skip
    if HOOKS:
        scope["extensions"] = _Connection().extensions
    return scope


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

    await app(_scope(body, extra), receive, send)  # type: ignore[operator]


async def main(n: int, keyed: bool, frames: int) -> None:  # noqa: PLR0915
    release = asyncio.Event()
    app = _build(keyed, frames, release)
    _tune()
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
    tracemalloc.start(int(os.environ.get("HELD_DEPTH", "1")))
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
        name = frame.filename
        if name.startswith(str(HERE)):
            name = os.path.relpath(name, HERE)
        print(f"  {stat.size_diff / n:8.0f} B {stat.count_diff / n:6.1f} blocks  {name}:{frame.lineno}")
    if os.environ.get("HELD_DEPTH"):  # where the biggest holders were allocated from
        for stat in after.compare_to(before, "traceback")[:8]:
            print(f"  {stat.size_diff / n:8.0f} B {stat.count_diff / n:6.1f} blocks")
            for line in stat.traceback.format()[-16:]:
                print("     ", line)
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


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def _paced(app: object, body: bytes, extra: list[tuple[bytes, bytes]], gap: float,
                 late: list[float]) -> bool:  # fmt: skip
    loop = asyncio.get_running_loop()
    schedule = [0.0]
    _SCHEDULE.set(schedule)
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    frames = [0]
    ended = [False]

    async def receive() -> dict[str, object]:
        if messages:
            return messages.pop()
        await asyncio.Future()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        if message["type"] != "http.response.body":
            return
        data = message.get("body") or b""
        now = loop.time()
        for _ in range(data.count(b"\n\n")):  # type: ignore[attr-defined]
            late.append(now - (schedule[0] + frames[0] * gap))
            frames[0] += 1
        if not message.get("more_body", False):
            ended[0] = True

    await app(_scope(body, extra), receive, send)  # type: ignore[operator]
    return ended[0]


async def paced(n: int, keyed: bool, frames: int, gap: float, ramp: float) -> None:
    app = _build(keyed, frames, asyncio.Event(), gap)
    _tune()
    body = _body("gpt-4o-mini", **_STREAM_USAGE)
    extra = _KEYED if keyed else []
    warm: list[float] = []
    await asyncio.gather(*(_paced(app, body, extra, 0.001, warm) for _ in range(50)))
    gc.collect()
    rss = _rss_mb()
    pauses: list[list[float]] = [[], [], []]  # per generation
    started = [0.0]

    def timing(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            return
        pauses[info["generation"]].append(time.perf_counter() - started[0])

    gc.callbacks.append(timing)
    late: list[float] = []
    peak = [rss]

    async def sample() -> None:
        while True:
            await asyncio.sleep(0.5)
            peak[0] = max(peak[0], _rss_mb())

    sampler = asyncio.create_task(sample())
    tasks = []
    for index in range(n):
        tasks.append(asyncio.create_task(_paced(app, body, extra, gap, late)))
        if index % 100 == 99:
            await asyncio.sleep(ramp * 100 / n)
    ended = await asyncio.gather(*tasks)
    sampler.cancel()
    gc.callbacks.remove(timing)
    late.sort()
    done = sum(ended)
    print(f"streams completed     {done} of {n} ({frames} frames, {gap:g} s apart, started over {ramp:g} s)")
    p50, p99 = late[len(late) // 2] * 1000, late[int(len(late) * 0.99)] * 1000
    worst = late[-1] * 1000
    print(f"frame lateness ms     p50 {p50:.1f}  p99 {p99:.1f}  max {worst:.1f}  ({len(late)} frames)")
    print(f"GC thresholds         {gc.get_threshold()}, {gc.get_freeze_count():,} objects frozen")
    for generation, times in enumerate(pauses):
        longest, total = max(times, default=0.0) * 1000, sum(times) * 1000
        label = f"collections gen{generation}"
        print(f"{label:22s}{len(times)} (longest {longest:.0f} ms, total {total:.0f} ms)")
    print(f"RSS growth MB         {peak[0] - rss:.1f} peak")


if __name__ == "__main__":
    args = sys.argv[1:]
    if any(arg in ("-h", "--help") for arg in args):
        print(__doc__)
        sys.exit(0)
    keyed = "--keyed" in args
    tuning = "--no-gc-tuning" not in args
    named = ("--frames", "--gap", "--ramp", "--gc")
    options = {name: args[args.index(name) + 1] for name in named if name in args}
    values = {args.index(name) + 1 for name in options}
    rest = [arg for index, arg in enumerate(args) if arg not in options and index not in values]
    gap = float(options.get("--gap", 0))
    frames = int(options.get("--frames", 30 if gap else 2))
    numbers = [arg for arg in rest if arg.isdigit()]
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
        spec = options.get("--gc")
        GC_SPEC[:] = [int(part) for part in spec.split(",")] if spec else [] if tuning else [0]
        ramp = float(options.get("--ramp", 10))
        asyncio.run(paced(n, keyed, frames, gap, ramp) if gap else main(n, keyed, frames))
    finally:
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(state_file + suffix):
                os.remove(state_file + suffix)
