"""uvicorn's httptools protocol, with the writes of one event-loop pass sent as one.

uvicorn writes a response's status line and headers, then each body part, with a
``transport.write`` apiece, and each is a ``send()`` system call of its own: two per
non-streaming response, the most expensive thing the server does per request. Here a
connection's writes are gathered until the loop has run what was ready (``call_soon``) and go
out in one ``send()``: the head and body of a response written in one task step share one
system call, and the frames of a stream written in one pass are joined. Bytes and their order
are unchanged; a close (uvicorn closes after ``Connection: close`` responses) sends what is
pending first.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _CoalescingTransport:
    """A transport whose ``write`` calls within one loop pass reach the socket as one."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] | None = None

    def write(self, data: bytes) -> None:
        if self._pending is None:
            self._pending = [data]
            self._loop.call_soon(self._flush)
        else:
            self._pending.append(data)

    def _flush(self) -> None:
        pending, self._pending = self._pending, None
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:  # get_extra_info, pause_reading, abort, ...
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """``uvicorn.run(http=CoalescingHttpToolsProtocol)``: httptools with coalesced writes."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
