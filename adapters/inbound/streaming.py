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
    """Sends what ``put`` buffered, in one message per wake-up of its task. Its two waits (for
    a chunk, for room) are bare futures made when needed: an open stream holds no ``Event``
    (each one a dict and a deque) and a chunk costs no waiter bookkeeping."""

    __slots__ = ("_buffer", "_closing", "_loop", "_room", "_send", "_task", "_wake")

    def __init__(self, send: Any) -> None:
        self._send = send
        self._buffer: list[bytes] = []
        self._loop = asyncio.get_running_loop()
        self._wake: asyncio.Future[None] | None = None  # the writer waits for a chunk
        self._room: asyncio.Future[None] | None = None  # the producer waits for the buffer to go
        self._closing = False
        self._task = self._loop.create_task(self._run())

    async def _run(self) -> None:
        buffer, send = self._buffer, self._send
        try:
            while True:
                if not buffer:
                    if self._closing:
                        return
                    self._wake = self._loop.create_future()
                    await self._wake
                    continue
                body = buffer[0] if len(buffer) == 1 else b"".join(buffer)
                buffer.clear()
                self._free()
                await send({"type": "http.response.body", "body": body, "more_body": True})
                del body  # sent: not held while the stream waits for the next chunk
        finally:
            self._free()  # a producer waiting for room must not wait forever

    def _free(self) -> None:
        room, self._room = self._room, None
        if room is not None and not room.done():
            room.set_result(None)

    def _wake_up(self) -> None:
        wake, self._wake = self._wake, None
        if wake is not None and not wake.done():
            wake.set_result(None)

    def put(self, chunk: bytes) -> bool:
        """Buffer ``chunk`` (no await: the usual case costs no coroutine); True when the buffer
        is full and the producer must ``await drain()`` before the next one."""
        if self._task.done():  # the writer failed: surface its error here
            self._task.result()
        buffer = self._buffer
        buffer.append(chunk)
        if self._wake is not None:
            self._wake_up()
        return len(buffer) >= MAX_PENDING

    async def drain(self) -> None:
        """Wait until the writer has taken the buffer."""
        if self._buffer and not self._task.done():
            self._room = room = self._loop.create_future()
            await room
        if self._task.done():
            self._task.result()

    async def write(self, chunk: bytes) -> None:
        if self.put(chunk):
            await self.drain()

    async def close(self) -> None:
        """Send what is left (all of it) and end the body."""
        self._closing = True
        self._wake_up()
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
                del first  # handed over: not held for the stream's life
            put = writer.put
            async for chunk in chunks:
                if put(chunk):
                    await writer.drain()
                del chunk  # handed over: not held while the next one is awaited
            await writer.close()
        finally:
            writer.cancel()
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await asyncio.shield(aclose())
