"""The SSE writer: frames buffered while a send waits for a slow client all go out, and a full
buffer makes the producer wait for room."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from adapters.inbound import streaming
from adapters.inbound.streaming import send_sse


class SlowClient:
    """An ASGI ``send`` whose body sends each wait until the test lets them through."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.gate = asyncio.Event()

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body" and message["more_body"]:
            await self.gate.wait()
        self.messages.append(message)

    def body(self) -> bytes:
        return b"".join(m["body"] for m in self.messages if m["type"] == "http.response.body")


async def test_frames_buffered_while_a_send_waits_are_sent_before_the_body_ends() -> None:
    client = SlowClient()

    async def frames() -> AsyncIterator[bytes]:
        yield b"data: 1\n\n"
        await asyncio.sleep(0)  # the writer takes frame 1 and waits in its send
        await asyncio.sleep(0)
        yield b"data: 2\n\n"  # buffered behind it; then the stream ends

    sending = asyncio.create_task(send_sse(client, frames()))
    await asyncio.sleep(0.01)
    client.gate.set()
    await asyncio.wait_for(sending, 1)
    assert client.body() == b"data: 1\n\ndata: 2\n\n"
    assert client.messages[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


async def test_a_full_buffer_waits_for_the_client_and_loses_nothing(monkeypatch: Any) -> None:
    monkeypatch.setattr(streaming, "MAX_PENDING", 4)
    client = SlowClient()
    produced = 0

    async def frames() -> AsyncIterator[bytes]:
        nonlocal produced
        for index in range(20):
            produced += 1
            yield b"data: %d\n\n" % index

    sending = asyncio.create_task(send_sse(client, frames()))
    await asyncio.sleep(0.01)
    assert produced < 20  # held back by the client that takes nothing
    client.gate.set()
    await asyncio.wait_for(sending, 1)
    assert client.body() == b"".join(b"data: %d\n\n" % index for index in range(20))
