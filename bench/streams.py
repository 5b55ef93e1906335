"""Open streams: N concurrent slow SSE streams, every frame of every stream counted and timed.

The client is raw asyncio + httptools on uvloop (one process, on the load core). Each stream
POSTs an OpenAI streaming request, counts SSE frames (blank-line terminated) as they arrive and
records the gap to the previous frame. Meanwhile the gateway's RSS is sampled every 100 ms.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field

import httptools
import uvloop

from bench.procs import cpu_split_ms, rss_kb
from bench.scenarios import BENCH_KEY, request_body


@dataclass
class _Totals:
    frames: list[int] = field(default_factory=list)  # frames per finished stream
    gaps: list[float] = field(default_factory=list)  # seconds between consecutive frames
    firsts: list[float] = field(default_factory=list)  # seconds from send to first frame
    statuses: list[int] = field(default_factory=list)
    errors: int = 0
    open_now: int = 0
    peak_open: int = 0


class _StreamClient(asyncio.Protocol):
    def __init__(self, request: bytes, totals: _Totals, done: asyncio.Future[None]) -> None:
        self.request = request
        self.totals = totals
        self.done = done
        self.parser = httptools.HttpResponseParser(self)
        self.sent = 0.0
        self.last = 0.0
        self.frames = 0
        self.tail = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.totals.open_now += 1
        self.totals.peak_open = max(self.totals.peak_open, self.totals.open_now)
        self.sent = time.perf_counter()
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._finish(error=True)

    def on_headers_complete(self) -> None:
        self.totals.statuses.append(self.parser.get_status_code())

    def on_body(self, body: bytes) -> None:
        data = self.tail + body
        count = data.count(b"\n\n")
        self.tail = data[-1:]
        if not count:
            return
        now = time.perf_counter()
        if self.frames == 0:
            self.totals.firsts.append(now - self.sent)
            count -= 1
            self.frames = 1
            self.last = now  # frames that came with the first one: gaps of zero
        if count:  # frames that arrive together after a stall: one real gap, then zeros
            self.totals.gaps.append(now - self.last)
            self.totals.gaps.extend([0.0] * (count - 1))
        self.frames += count
        self.last = now

    def on_message_complete(self) -> None:
        self._finish(error=False)

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish(error=True)

    def _finish(self, *, error: bool) -> None:
        if self.done.done():
            return
        self.totals.open_now -= 1
        self.totals.frames.append(self.frames)
        self.totals.errors += int(error)
        if self.transport is not None:
            self.transport.close()
        self.done.set_result(None)


def _request(port: int, path: str, model: str) -> bytes:
    # with the usage chunk, as the upstream sends it: every upstream frame has one downstream
    body = request_body("openai", model, stream=True, usage=True)
    head = (
        f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n"
        f"authorization: Bearer {BENCH_KEY}\r\ncontent-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


async def _run(
    port: int, path: str, model: str, streams: int, ramp: float, timeout: float, watch_pid: int | None
) -> dict:
    loop = asyncio.get_running_loop()
    request = _request(port, path, model)
    warm = _Totals()  # one stream first: warms the pools, tells how many frames a stream has
    done: asyncio.Future[None] = loop.create_future()
    await loop.create_connection(lambda: _StreamClient(request, warm, done), "127.0.0.1", port)
    await asyncio.wait_for(done, timeout)
    expected = warm.frames[0]
    totals = _Totals()
    rss_base = rss_kb(watch_pid) if watch_pid else 0
    cpu_before = cpu_split_ms(watch_pid) if watch_pid else (0.0, 0.0)
    rss_peak = rss_base
    stop_sampling = asyncio.Event()

    async def sample() -> None:
        nonlocal rss_peak
        while not stop_sampling.is_set():
            rss_peak = max(rss_peak, rss_kb(watch_pid)) if watch_pid else 0
            await asyncio.sleep(0.1)

    async def one(delay: float) -> None:
        await asyncio.sleep(delay)
        done: asyncio.Future[None] = loop.create_future()
        try:
            await loop.create_connection(lambda: _StreamClient(request, totals, done), "127.0.0.1", port)
        except OSError:
            totals.errors += 1
            totals.frames.append(0)
            return
        await done

    sampler = asyncio.create_task(sample())
    started = time.perf_counter()
    tasks = [asyncio.create_task(one(ramp * i / streams)) for i in range(streams)]
    _, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        task.cancel()
    elapsed = time.perf_counter() - started
    stop_sampling.set()
    await sampler
    cpu_after = cpu_split_ms(watch_pid) if watch_pid else (0.0, 0.0)
    await asyncio.sleep(1.0)  # let the gateway release what the streams held
    rss_after = rss_kb(watch_pid) if watch_pid else 0
    return _figures(
        totals,
        streams,
        expected,
        len(pending),
        elapsed,
        rss_base,
        rss_peak,
        rss_after,
        (cpu_after[0] - cpu_before[0], cpu_after[1] - cpu_before[1]),
    )


def _figures(
    t: _Totals,
    streams: int,
    expected: int,
    hung: int,
    elapsed: float,
    base: int,
    peak: int,
    after: int,
    cpu_split: tuple[float, float],
) -> dict:
    gaps = sorted(t.gaps)
    cpu = sum(cpu_split)

    def pct(values: list[float], p: float) -> float:
        return round(1000 * values[min(len(values) - 1, int(len(values) * p / 100))], 2) if values else 0.0

    return {
        "streams": streams,
        "completed": sum(1 for n in t.frames if n == expected),
        "frames_received": sum(t.frames),
        "frames_per_stream": expected,
        "short_streams": sum(1 for n in t.frames if n != expected),
        "hung": hung,
        "errors": t.errors,
        "non_200": sum(1 for s in t.statuses if s != 200),
        "peak_open": t.peak_open,
        "elapsed_s": round(elapsed, 2),
        "first_frame_p50_ms": round(1000 * statistics.median(t.firsts), 2) if t.firsts else 0.0,
        "first_frame_p99_ms": pct(sorted(t.firsts), 99),
        "gap_p50_ms": pct(gaps, 50),
        "gap_p99_ms": pct(gaps, 99),
        "gap_max_ms": round(1000 * gaps[-1], 2) if gaps else 0.0,
        "rss_base_mb": round(base / 1024, 1),
        "rss_peak_mb": round(peak / 1024, 1),
        "rss_after_mb": round(after / 1024, 1),
        "rss_growth_mb_per_1000": round((peak - base) / 1024 * 1000 / streams, 1) if base else None,
        "gateway_cpu_ms_per_stream": round(cpu / streams, 3) if base else None,
        "gateway_sys_pct": round(100 * cpu_split[1] / cpu, 1) if base and cpu else None,
        "gateway_cpu_pct": round(100 * cpu / 1000 / elapsed, 1) if base else None,
    }


def open_streams(
    port: int, path: str, model: str, *, streams: int, ramp: float, timeout: float, watch_pid: int | None
) -> dict:
    """Run ``streams`` streams against ``port``, their starts spread evenly over ``ramp``
    seconds, the whole run bounded by ``timeout`` seconds."""
    return uvloop.run(_run(port, path, model, streams, ramp, timeout, watch_pid))
