"""IR events -> Anthropic SSE, in native relay and translated modes, read by the official SDK."""

from __future__ import annotations

import re

import anthropic
import msgspec
import pydantic
import pytest

from adapters.inbound.anthropic.stream import encode_stream
from domain.ir import (
    BlockDelta,
    BlockStart,
    BlockStop,
    ChatRequest,
    ImageBlock,
    Message,
    MessageDelta,
    MessageStart,
    MessageStop,
    Ping,
    StreamError,
    TextBlock,
    TextDelta,
    ThinkingBlock,
    ThinkingDelta,
    ToolInputDelta,
    ToolUseBlock,
    Usage,
)
from domain.request_record import RequestRecord
from tests.conftest import fixture_bytes, sse_lines
from tests.streams import aiter_of, anthropic_events, collect, openai_events
from tests.unit.adapters.inbound.anthropic.support import sdk_raw_events, sdk_stream_message

STRICT_EVENT = pydantic.TypeAdapter(anthropic.types.RawMessageStreamEvent)
REQUEST = ChatRequest(model="m", messages=[Message(role="user", content=[TextBlock(text="hi")])], stream=True)


def record_for(upstream: str, alias: str | None = None) -> RequestRecord:
    ex = RequestRecord(app="test", frontdoor="anthropic")
    ex.upstream_protocol, ex.alias = upstream, alias
    return ex


async def encode(events: list, ex: RequestRecord) -> bytes:
    return b"".join(await collect(encode_stream(aiter_of(events), REQUEST, ex)))


def frames(sse: bytes) -> list[tuple[str, dict]]:
    """(event name, decoded data) per frame."""
    out = []
    for block in sse.split(b"\n\n")[:-1]:
        event_line, data_line = block.split(b"\n")
        assert event_line.startswith(b"event: ") and data_line.startswith(b"data: ")
        out.append((event_line[7:].decode(), msgspec.json.decode(data_line[6:])))
    return out


def openai_like_events() -> list:
    """What an OpenAI upstream's stream becomes in IR: text, then two tool calls in fragments,
    a ping for the usage-only chunk, usage only at the end."""
    tool = ToolUseBlock
    return [
        MessageStart(id="chatcmpl-xyz", model="gpt-4o-mini", created=1795730117),
        BlockStart(index=0, block=TextBlock(text="")),
        BlockDelta(index=0, delta=TextDelta(text="Let me ")),
        BlockDelta(index=0, delta=TextDelta(text="look \"that\" up.")),
        BlockStop(index=0),
        BlockStart(index=1, block=tool(id="call_1", name="get_weather", input=msgspec.Raw(b"{}"))),
        BlockDelta(index=1, delta=ToolInputDelta(partial_json='{"city"')),
        BlockDelta(index=1, delta=ToolInputDelta(partial_json=':"Paris"}')),
        BlockStop(index=1),
        BlockStart(index=2, block=tool(id="call_2", name="get_time", input=msgspec.Raw(b"{}"))),
        BlockDelta(index=2, delta=ToolInputDelta(partial_json='{"city":')),
        BlockDelta(index=2, delta=ToolInputDelta(partial_json='"Tokyo"}')),
        BlockStop(index=2),
        Ping(),
        MessageDelta(stop_reason="tool_use",
                     usage=Usage(input_tokens=1500, output_tokens=42, cache_read_tokens=1024)),
        MessageStop(),
    ]


@pytest.mark.parametrize(
    "name", ["stream_text", "stream_thinking", "stream_tool_use_parallel", "stream_midstream_error"]
)
async def test_native_relay_reproduces_the_upstream_stream_byte_for_byte(name):
    upstream = fixture_bytes(f"anthropic/{name}.sse")
    events = await collect(anthropic_events(sse_lines(f"anthropic/{name}.sse")))
    assert await encode(events, record_for("anthropic")) == upstream


async def test_native_relay_keeps_unknown_events_and_fields_and_aliases_the_model():
    events = await collect(anthropic_events(sse_lines("anthropic/stream_citations_unknown_event.sse")))
    out = frames(await encode(events, record_for("anthropic", alias="house-model")))
    names = [name for name, _ in out]
    assert names == [
        "message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta",
        "content_block_stop", "future_event", "message_delta", "message_stop",
    ]
    start = out[0][1]["message"]
    assert start["model"] == "house-model"
    assert start["made_up_field"] == "kept"
    assert out[3][1]["delta"]["type"] == "citations_delta"
    assert out[6][1] == {"type": "future_event", "detail": {"made_up": True}}
    message = sdk_stream_message(await encode(events, record_for("anthropic", alias="house-model")))
    assert message.model == "house-model"
    assert message.content[0].citations[0].cited_text == "Sunny, 21C"


async def test_native_relay_encodes_a_gateway_stream_error_and_skips_events_without_native():
    events = [
        MessageStart(id="msg_1", model="c",
                     native=b'{"type":"message_start","message":{"id":"msg_1","model":"c"}}'),
        BlockStart(index=0, block=TextBlock(text="")),  # no native: skipped
        StreamError(kind="timeout", message="Provider 'anthropic' did not answer within 300 s"),
        MessageStop(native=b'{"type":"message_stop"}'),  # never reached
    ]
    out = await encode(events, record_for("anthropic"))
    assert out == (
        b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","model":"c"}}\n\n'
        b'event: error\ndata: {"type":"error","error":{"type":"timeout_error",'
        b'"message":"Provider \'anthropic\' did not answer within 300 s"}}\n\n'
    )


async def test_upstream_midstream_error_reaches_the_sdk_as_an_api_error():
    events = await collect(anthropic_events(sse_lines("anthropic/stream_midstream_error.sse")))
    with pytest.raises(anthropic.APIStatusError) as caught:
        sdk_raw_events(await encode(events, record_for("anthropic")))
    assert "Overloaded (scripted MIDERR)" in str(caught.value)


async def test_translated_stream_follows_anthropic_grammar_exactly():
    out = frames(await encode(openai_like_events(), record_for("openai")))
    assert [name for name, _ in out] == [
        "message_start",
        "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
        "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
        "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
        "message_delta", "message_stop",
    ]
    assert all(data["type"] == name for name, data in out)
    assert out[0][1] == {"type": "message_start", "message": {
        "id": "chatcmpl-xyz", "type": "message", "role": "assistant", "model": "gpt-4o-mini", "content": [],
        "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                  "output_tokens": 0},
    }}
    assert out[1][1] == {"type": "content_block_start", "index": 0,
                         "content_block": {"type": "text", "text": ""}}
    assert out[5][1] == {"type": "content_block_start", "index": 1, "content_block": {
        "type": "tool_use", "id": "call_1", "name": "get_weather", "input": {}}}
    assert out[6][1] == {"type": "content_block_delta", "index": 1,
                         "delta": {"type": "input_json_delta", "partial_json": '{"city"'}}
    assert out[12][1] == {"type": "content_block_stop", "index": 2}
    assert out[13][1] == {
        "type": "message_delta",
        "delta": {"stop_reason": "tool_use", "stop_sequence": None},
        "usage": {"output_tokens": 42, "input_tokens": 476, "cache_creation_input_tokens": 0,
                  "cache_read_input_tokens": 1024},
    }
    assert out[14][1] == {"type": "message_stop"}


async def test_translated_stream_validates_with_sdk_event_types_and_accumulates():
    sse = await encode(openai_like_events(), record_for("openai", alias="house-model"))
    for block in sse.split(b"\n\n")[:-1]:  # every frame validates strictly as an SDK event type
        STRICT_EVENT.validate_json(block.split(b"\ndata: ")[1])
    assert len(sdk_raw_events(sse)) == 15
    message = sdk_stream_message(sse)
    assert message.model == "house-model"
    assert message.content[0].text == 'Let me look "that" up.'
    assert [(b.id, b.name, b.input) for b in message.content[1:]] == [
        ("call_1", "get_weather", {"city": "Paris"}), ("call_2", "get_time", {"city": "Tokyo"}),
    ]
    assert message.stop_reason == "tool_use"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (476, 42)
    assert message.usage.cache_read_input_tokens == 1024


async def test_translated_thinking_without_signature_and_usage_at_start_only():
    events = [
        MessageStart(id="chatcmpl-t", model="deepseek-reasoner", usage=Usage(input_tokens=12)),
        BlockStart(index=0, block=ThinkingBlock(thinking="")),
        BlockDelta(index=0, delta=ThinkingDelta(thinking="Hmm.")),
        BlockStop(index=0),
        BlockStart(index=1, block=TextBlock(text="")),
        BlockDelta(index=1, delta=TextDelta(text="Hi!")),
        BlockStop(index=1),
        MessageDelta(stop_reason="max_tokens", usage=Usage(output_tokens=5)),
        MessageStop(),
    ]
    sse = await encode(events, record_for("openai"))
    out = frames(sse)
    assert out[-2][1]["usage"] == {"output_tokens": 5}
    message = sdk_stream_message(sse)
    assert (message.content[0].thinking, message.content[0].signature) == ("Hmm.", "")
    assert message.content[1].text == "Hi!"
    assert message.stop_reason == "max_tokens"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (12, 5)


async def test_translated_stream_error_ends_with_an_error_event():
    error = StreamError(kind="unavailable", message="upstream stream ended early")
    events = [*openai_like_events()[:3], error]
    sse = await encode(events, record_for("openai"))
    assert sse.endswith(
        b'event: error\ndata: {"type":"error","error":{"type":"api_error",'
        b'"message":"upstream stream ended early"}}\n\n'
    )
    with pytest.raises(anthropic.APIStatusError):
        sdk_stream_message(sse)


async def test_translated_blocks_start_empty_and_dropped_blocks_keep_indexes_contiguous():
    events = [
        MessageStart(id="x", model="m"),
        BlockStart(index=0, block=TextBlock(text="pre")),
        BlockStop(index=0),
        BlockStart(index=1, block=ImageBlock(url="https://example.com/a.png")),
        BlockStop(index=1),
        BlockStart(index=2, block=ToolUseBlock(id="call_9", name="f", input=msgspec.Raw(b'{"a":1}'))),
        MessageDelta(stop_reason="tool_use"),  # block 2 never stopped: closed before message_delta
        MessageStop(),
    ]
    out = frames(await encode(events, record_for("openai")))
    assert [(name, data.get("index")) for name, data in out] == [
        ("message_start", None),
        ("content_block_start", 0), ("content_block_delta", 0), ("content_block_stop", 0),
        ("content_block_start", 1), ("content_block_delta", 1), ("content_block_stop", 1),
        ("message_delta", None), ("message_stop", None),
    ]
    assert out[2][1]["delta"] == {"type": "text_delta", "text": "pre"}
    assert out[5][1]["delta"] == {"type": "input_json_delta", "partial_json": '{"a":1}'}


async def test_stream_from_a_real_openai_fixture_through_the_openai_parser():
    events = await collect(
        openai_events(sse_lines("openai/stream_text_then_tool.sse"))
    )
    message = sdk_stream_message(await encode(events, record_for("openai")))
    assert [block.type for block in message.content] == ["text", "tool_use"]
    assert message.content[1].name == "get_weather"
    assert message.stop_reason == "tool_use"


TOOL_ID = re.compile(r"[a-zA-Z0-9_-]+")  # what the real API sends, and accepts back


async def test_an_upstream_stream_without_a_message_id_gets_a_new_one() -> None:
    """TGI sends ``"id": ""``; the real API's ids are unique, and clients key messages by them."""
    events = openai_events(sse_lines("openai/stream_tgi_empty_id.sse"))
    sse = b"".join(await collect(encode_stream(events, REQUEST, record_for("openai"))))
    message = sdk_stream_message(sse)
    assert message.id.startswith("msg_") and len(message.id) == 28
    assert message.content[0].text == "Hello! How can I help you today?"  # type: ignore[union-attr]


async def test_streamed_tool_ids_other_providers_mint_become_valid_anthropic_ids() -> None:
    """Kimi's ``functions.get_weather:0`` is an id the real API never sends, and refuses when
    the client replays it to an Anthropic route (a model switch, a failover)."""
    lines = [line.replace(b"call_3QQz5niU4my9jIQPa8k6NUr4", b"functions.get_weather:0")
             for line in sse_lines("openai/stream_tool_calls_parallel.sse")]  # fmt: skip
    request = ChatRequest(model="m", messages=[Message(role="user", content=[TextBlock(text="hi")])])
    events = openai_events(lines)
    sse = b"".join(await collect(encode_stream(events, request, record_for("openai"))))
    starts = [msgspec.json.decode(frame.partition(b"data: ")[2]) for frame in sse.split(b"\n\n")
              if frame.startswith(b"event: content_block_start")]  # fmt: skip
    ids = [start["content_block"]["id"] for start in starts]
    assert ids[0].startswith("functions_get_weather_0_") and all(TOOL_ID.fullmatch(i) for i in ids)
