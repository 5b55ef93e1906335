"""The SSE response every frontdoor streams with: coalesced writes, and an iterator that is
always closed, so the upstream request closes with it.

Writes are coalesced: the frames the encoders produce from one upstream read (the pipeline runs
through them without waiting) go to the client in one ``send``, flushed as soon as the pipeline
waits for the upstream again. Nothing is held back beyond that moment, so frames are still
relayed as they arrive, while a burst of 40 frames costs one write instead of 40. A bounded
buffer keeps backpressure: a slow client slows the relay down (and so the upstream read).

The iterator is closed (shielded) as soon as sending stops, for whatever reason. A client that
disconnects is noticed by the outermost layer (``app/middleware.py``), which cancels the
request; this response does not listen for it itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

import anyio
from litestar.response import Stream
from litestar.response.streaming import ASGIStreamingResponse

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}
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

    async def write(self, chunk: bytes) -> None:
        if self._task.done():  # the writer failed: surface its error here
            self._task.result()
        self._buffer.append(chunk)
        self._wake.set()
        if len(self._buffer) >= MAX_PENDING:
            self._drained.clear()
            await self._drained.wait()

    async def close(self) -> None:
        """Flush what is left and end the body."""
        self._closing = True
        self._wake.set()
        await self._task
        await self._send(_END)

    def cancel(self) -> None:
        self._task.cancel()


class _CoalescingStreamingResponse(ASGIStreamingResponse):
    __slots__ = ()

    async def send_body(self, send: Any, receive: Any) -> None:
        writer = _CoalescingWriter(send)
        try:
            async for chunk in self.iterator:
                await writer.write(chunk if isinstance(chunk, bytes) else chunk.encode(self.encoding))
            await writer.close()
        finally:
            writer.cancel()
            aclose = getattr(self.iterator, "aclose", None)
            if aclose is not None:
                with anyio.CancelScope(shield=True):
                    await aclose()


class SSEStream(Stream):
    __slots__ = ()

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> ASGIStreamingResponse:
        response = super().to_asgi_response(*args, **kwargs)
        response.__class__ = _CoalescingStreamingResponse
        return response


def sse_response(chunks: AsyncIterator[bytes], headers: Mapping[str, str] | None = None) -> SSEStream:
    """A 200 ``text/event-stream`` response relaying ``chunks`` as they come."""
    return SSEStream(
        chunks,
        media_type="text/event-stream",
        headers={**SSE_HEADERS, **(headers or {})},
    )
