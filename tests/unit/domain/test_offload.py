"""Large requests' decoding and translation run on the heavy-work thread, the collector paused."""

from __future__ import annotations

import asyncio
import gc
import sys
import threading

import msgspec
import pytest
import structlog

from adapters.inbound.openai.decode import to_ir
from domain.errors import ErrorKind, GatewayError
from domain.ir import ChatRequest, Message, NativeRequest, TextBlock
from domain.offload import LARGE_BYTES, SWITCH_INTERVAL, is_large, is_large_body, off_loop


def request_of(size: int) -> ChatRequest:
    fields = {"model": msgspec.Raw(b'"m"'), "messages": msgspec.Raw(b'"' + b"x" * size + b'"')}
    return ChatRequest(
        model="m", messages=[Message(role="user", content=[TextBlock(text="x")])],
        native=NativeRequest(protocol="openai", fields=fields),
    )  # fmt: skip


def where() -> tuple[str, bool, float]:
    return threading.current_thread().name, gc.isenabled(), sys.getswitchinterval()


async def test_off_loop_runs_on_the_heavy_thread_with_the_collector_paused() -> None:
    interval = sys.getswitchinterval()
    name, collecting, switch = await off_loop(where)
    assert name.startswith("gateway-heavy")
    assert not collecting and switch == SWITCH_INTERVAL
    assert gc.isenabled() and sys.getswitchinterval() == interval  # both back afterwards


async def test_off_loop_keeps_the_log_bindings_and_raises_what_the_work_raises() -> None:
    structlog.contextvars.bind_contextvars(request_id="r-1")
    try:
        assert (await off_loop(structlog.contextvars.get_contextvars))["request_id"] == "r-1"
    finally:
        structlog.contextvars.unbind_contextvars("request_id")

    def refuse() -> None:
        raise GatewayError(ErrorKind.INVALID_REQUEST, "no")

    with pytest.raises(GatewayError):
        await off_loop(refuse)


def test_a_request_is_large_from_the_size_of_the_body_it_came_in() -> None:
    assert not is_large(request_of(10)) and not is_large_body(LARGE_BYTES - 1)
    assert is_large(request_of(LARGE_BYTES)) and is_large_body(LARGE_BYTES)


async def test_the_loop_keeps_running_while_a_large_body_is_decoded_off_it() -> None:
    turns = [{"role": "user", "content": "x"}] * 200_000
    body = msgspec.json.encode({"model": "gpt-4o", "messages": turns})
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    ticker = asyncio.create_task(tick())
    await off_loop(to_ir, body)
    ticker.cancel()
    assert ticks >= 3
