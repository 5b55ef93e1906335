"""The slow-stream fake upstream: every POST gets an OpenAI SSE stream of N frames, D ms apart.

``python -m bench.slow_upstream --port P [--frames 40] [--delay-ms 50]``, one process on uvloop,
raw asyncio protocol and httptools (no framework, so it is never the bottleneck). Frames are
scheduled on the loop's clock (``call_at``), not chained sleeps, so gaps do not drift.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

import httptools
import uvloop

from bench.upstream import openai_stream_frames

_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
    b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"
)


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class SlowStream(asyncio.Protocol):
    frames: tuple[bytes, ...] = ()
    delay: float = 0.05

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.loop = asyncio.get_running_loop()
        self.handles: list[asyncio.TimerHandle] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.close()

    def on_message_complete(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(_HEAD + _chunk(self.frames[0]))
        start = self.loop.time()
        for index in range(1, len(self.frames)):
            self.handles.append(self.loop.call_at(start + index * self.delay, self._send, index))

    def _send(self, index: int) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        last = index == len(self.frames) - 1
        self.transport.write(_chunk(self.frames[index]) + (b"0\r\n\r\n" if last else b""))
        if last:
            self.handles.clear()

    def connection_lost(self, exc: Exception | None) -> None:
        for handle in self.handles:
            handle.cancel()
        self.transport = None


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(SlowStream, "127.0.0.1", port, backlog=4096, reuse_address=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--delay-ms", type=float, default=50.0)
    args = parser.parse_args()
    SlowStream.frames = tuple(openai_stream_frames(args.frames))
    SlowStream.delay = args.delay_ms / 1000
    uvloop.run(serve(args.port))


if __name__ == "__main__":
    main()
