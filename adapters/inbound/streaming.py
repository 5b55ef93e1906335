"""An SSE response that always closes its iterator, so the upstream request closes with it.

Litestar cancels a streaming response when the client disconnects; if the body iterator is
suspended at a ``yield`` at that moment it is left for the garbage collector, and with it the
upstream connection. This response closes the iterator (shielded) as soon as sending stops.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import anyio
from litestar.response import Stream
from litestar.response.streaming import ASGIStreamingResponse

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


class _ClosingStreamingResponse(ASGIStreamingResponse):
    __slots__ = ()

    async def send_body(self, send: Any, receive: Any) -> None:
        try:
            await super().send_body(send, receive)
        finally:
            aclose = getattr(self.iterator, "aclose", None)
            if aclose is not None:
                with anyio.CancelScope(shield=True):
                    await aclose()


class SSEStream(Stream):
    __slots__ = ()

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> ASGIStreamingResponse:
        response = super().to_asgi_response(*args, **kwargs)
        response.__class__ = _ClosingStreamingResponse
        return response


def sse_response(chunks: AsyncIterator[bytes], headers: Mapping[str, str] | None = None) -> SSEStream:
    """A 200 ``text/event-stream`` response relaying ``chunks`` as they come."""
    return SSEStream(
        chunks,
        media_type="text/event-stream",
        headers={**SSE_HEADERS, **(headers or {})},
    )
