"""Regression: Anthropic's ``model_context_window_exceeded`` stop reason (the answer was cut short
by the context window) reached OpenAI clients as ``finish_reason: "stop"``, a complete answer."""

from __future__ import annotations

import msgspec

from adapters.inbound.openai.encode import from_ir
from adapters.inbound.openai.stream import encode_stream
from domain.ir import (
    BlockDelta,
    BlockStart,
    BlockStop,
    ChatRequest,
    ChatResponse,
    Message,
    MessageDelta,
    MessageStart,
    MessageStop,
    TextBlock,
    TextDelta,
)
from domain.request_record import RequestRecord
from tests.streams import aiter_of

REQUEST = ChatRequest(model="m", messages=[Message(role="user", content=[TextBlock(text="hi")])], stream=True)


def _record() -> RequestRecord:
    record = RequestRecord(app="test", frontdoor="openai")
    record.upstream_protocol = "anthropic"
    return record


def test_message_finish_reason_is_length() -> None:
    response = ChatResponse(
        id="msg_1", model="m", content=[TextBlock(text="cut")], stop_reason="model_context_window_exceeded"
    )
    body = msgspec.json.decode(from_ir(response, _record()))
    assert body["choices"][0]["finish_reason"] == "length"


async def test_stream_finish_reason_is_length() -> None:
    events = [
        MessageStart(id="msg_1", model="m"),
        BlockStart(index=0, block=TextBlock(text="")),
        BlockDelta(index=0, delta=TextDelta(text="cut")),
        BlockStop(index=0),
        MessageDelta(stop_reason="model_context_window_exceeded"),
        MessageStop(),
    ]
    stream = encode_stream(aiter_of(events), REQUEST, _record())  # type: ignore[arg-type]
    frames = [frame async for frame in stream]
    chunks = [msgspec.json.decode(frame.removeprefix(b"data: ")) for frame in frames[:-1]]  # not [DONE]
    finishes = [chunk["choices"][0]["finish_reason"] for chunk in chunks]
    assert [reason for reason in finishes if reason] == ["length"]
