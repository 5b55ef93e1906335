"""Server-sent events to the client: coalesced writes, and an iterator that is always closed, so
the upstream request closes with it.

Writes are coalesced: the frames the encoders produce from one upstream read (the pipeline runs
through them without waiting) go to the client in one ``send``, flushed as soon as the pipeline
waits for the upstream again. Nothing is held back beyond that moment, so frames are still
relayed as they arrive, while a burst of 40 frames costs one write instead of 40. A bounded
buffer keeps backpressure: a slow client slows the relay down (and so the upstream read).

The iterator is closed (shielded) as soon as sending stops, for whatever reason. A client that
disconnects is noticed by the outermost layer (``app/middleware.py``), which cancels the
request; nothing here listens for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
MAX_PENDING = 256  # frames buffered for a slow client before the relay waits for it
_END = {"type": "http.response.body", "body": b"", "more_body": False}


class _CoalescingWriter:
    """Sends what ``write`` buffered, in one message per wake-up of its task."""

    __slots__ = ("_buffer", "_closing", "_drained", "_send", "_task", "_wake")

    def __init__(self, send: Any) -> None:
        self._send = send
        self._buffer: list[bytes] = []
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._closing = False
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        buffer, wake = self._buffer, self._wake
        try:
            while True:
                await wake.wait()
                wake.clear()
                if buffer:
                    body = buffer[0] if len(buffer) == 1 else b"".join(buffer)
                    buffer.clear()
                    self._drained.set()
                    await self._send({"type": "http.response.body", "body": body, "more_body": True})
                if self._closing:
                    return
        finally:
            self._drained.set()  # a producer waiting for room must not wait forever

    def put(self, chunk: bytes) -> bool:
        """Buffer ``chunk`` (no await: the usual case costs no coroutine); True when the buffer
        is full and the producer must ``await drain()`` before the next one."""
        if self._task.done():  # the writer failed: surface its error here
            self._task.result()
        buffer = self._buffer
        buffer.append(chunk)
        self._wake.set()
        return len(buffer) >= MAX_PENDING

    async def drain(self) -> None:
        """Wait until the writer has taken the buffer."""
        self._drained.clear()
        await self._drained.wait()
        if self._task.done():
            self._task.result()

    async def write(self, chunk: bytes) -> None:
        if self.put(chunk):
            await self.drain()

    async def close(self) -> None:
        """Flush what is left and end the body."""
        self._closing = True
        self._wake.set()
        await self._task
        await self._send(_END)

    def cancel(self) -> None:
        self._task.cancel()


async def send_sse(send: Any, chunks: AsyncIterator[bytes]) -> None:
    """A 200 ``text/event-stream`` response relaying ``chunks`` (complete SSE frames) as they
    come; ``chunks`` is closed however the response ends.

    The first chunk is pulled before the response starts: it is ready (the stream was peeked),
    and once the chain of generators has started, closing it reaches the upstream request.
    """
    try:
        first = await anext(chunks, None)
        await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
        writer = _CoalescingWriter(send)
        try:
            if first is not None:
                await writer.write(first)
            put = writer.put
            async for chunk in chunks:
                if put(chunk):
                    await writer.drain()
            await writer.close()
        finally:
            writer.cancel()
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await asyncio.shield(aclose())
