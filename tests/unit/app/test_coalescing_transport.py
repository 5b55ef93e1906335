"""The server's transport: the writes of one loop pass reach the socket as one, bytes and order
unchanged, nothing pending lost on close; and a real uvicorn serves through it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

import uvicorn

from app.server import CoalescingHttpToolsProtocol, _CoalescingTransport


class FakeTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 1)}.get(name, default)


async def test_writes_of_one_loop_pass_go_out_as_one_in_order() -> None:
    fake = FakeTransport()
    transport = _CoalescingTransport(fake, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(b"body")
    assert fake.writes == []
    await asyncio.sleep(0)
    assert fake.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
    transport.write(b"next")
    await asyncio.sleep(0)
    assert fake.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody", b"next"]


async def test_close_sends_what_is_pending_first() -> None:
    fake = FakeTransport()
    transport = _CoalescingTransport(fake, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"head")
    transport.write(b"tail")
    transport.close()
    assert fake.writes == [b"headtail"] and fake.closed
    await asyncio.sleep(0)  # the queued flush finds nothing left
    assert fake.writes == [b"headtail"]


async def test_writes_to_a_transport_that_is_closing_are_dropped() -> None:
    fake = FakeTransport()
    transport = _CoalescingTransport(fake, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"late")
    fake.closed = True  # the peer went away
    await asyncio.sleep(0)
    assert fake.writes == [] and transport.is_closing()
    assert transport.get_extra_info("peername") == ("127.0.0.1", 1)


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert scope["type"] == "http"
    if scope["path"] == "/stream":
        headers = [(b"content-type", b"text/plain")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for part in (b"one ", b"two ", b"three"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
            await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": b""})
        return
    body = b'{"status":"ok"}'
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def test_uvicorn_serves_keep_alive_close_and_chunked_responses_through_it() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        _app, host="127.0.0.1", port=port, http=CoalescingHttpToolsProtocol, lifespan="off", log_config=None,
        access_log=False,
    )
    server = uvicorn.Server(config)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        writer.write(request * 2)  # two pipelined keep-alive requests
        first = await reader.readuntil(b'{"status":"ok"}')
        second = await reader.readuntil(b'{"status":"ok"}')
        assert first.startswith(b"HTTP/1.1 200 OK\r\n") and second.startswith(b"HTTP/1.1 200 OK\r\n")
        writer.write(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        streamed = await reader.readuntil(b"0\r\n\r\n")
        assert b"transfer-encoding: chunked" in streamed
        assert b"4\r\none \r\n4\r\ntwo \r\n5\r\nthree\r\n" in streamed
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        last = await reader.read()  # the server closes after it: everything arrives first
        assert last.startswith(b"HTTP/1.1 200 OK\r\n") and last.endswith(b'{"status":"ok"}')
        writer.close()
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
