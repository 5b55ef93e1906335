"""A forwarding HTTP proxy on 127.0.0.1 for ``http://`` targets (no CONNECT, no TLS).

A client configured with it sends ``POST http://host:port/path HTTP/1.1``; the proxy records
that request line, opens a connection to ``host:port``, sends the request on in origin form
(``POST /path HTTP/1.1``) and relays the bytes both ways until either side closes::

    async with ForwardProxy() as proxy:
        ...  # HTTP_PROXY=proxy.url
        assert proxy.request_lines == [b"POST http://127.0.0.1:8000/v1/chat/completions HTTP/1.1"]
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit


class ForwardProxy:
    def __init__(self) -> None:
        self.url = ""
        self.request_lines: list[bytes] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> ForwardProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            line = (await reader.readline()).rstrip(b"\r\n")
            self.request_lines.append(line)
            method, target, version = line.split(b" ")
            parts = urlsplit(target.decode())
            assert parts.scheme == "http" and parts.hostname and parts.port, "absolute http:// URL expected"
            up_reader, up_writer = await asyncio.open_connection(parts.hostname, parts.port)
            origin_form = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            up_writer.write(b" ".join((method, origin_form.encode(), version)) + b"\r\n")
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            self._tasks.discard(task)
            writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        with contextlib.suppress(ConnectionError, RuntimeError):
            writer.close()
