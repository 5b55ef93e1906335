"""Upstream Anthropic SSE streams -> IR events, one per upstream event, native data attached."""

from __future__ import annotations

import msgspec
import pytest

from domain.errors import ErrorKind, GatewayError
from domain.ir import (
    BlockDelta,
    BlockStart,
    BlockStop,
    MessageDelta,
    MessageStart,
    MessageStop,
    Ping,
    SignatureDelta,
    StreamError,
    TextBlock,
    TextDelta,
    ThinkingBlock,
    ThinkingDelta,
    ToolInputDelta,
    ToolUseBlock,
    Usage,
)
from tests.conftest import sse_lines
from tests.streams import accumulate, aiter_of, anthropic_events, collect

START_USAGE = Usage(input_tokens=31, output_tokens=1, cache_read_tokens=0, cache_creation_tokens=0)
END_USAGE = Usage(input_tokens=31, output_tokens=19, cache_read_tokens=0, cache_creation_tokens=0)


async def parse(name: str) -> list:
    return await collect(anthropic_events(sse_lines(name)))


def data_lines(name: str) -> list[bytes]:
    return [line[6:] for line in sse_lines(name) if line.startswith(b"data: ")]


def without_native(events: list) -> list:
    return [msgspec.structs.replace(event, native=None) for event in events]


async def test_every_upstream_event_yields_one_ir_event_carrying_its_data():
    names = ("stream_text", "stream_thinking", "stream_tool_use_parallel", "stream_citations_unknown_event")
    for name in names:
        events = await parse(f"anthropic/{name}.sse")
        assert [event.native for event in events] == data_lines(f"anthropic/{name}.sse")


async def test_text_stream_maps_the_full_grammar():
    events = without_native(await parse("anthropic/stream_text.sse"))
    assert events[:3] == [
        MessageStart(id="msg_01hYQiMHgtDvIPzmCcwc94Zp", model="claude-sonnet-4-5", usage=START_USAGE),
        BlockStart(index=0, block=TextBlock(text="")),
        Ping(),
    ]
    assert events[3] == BlockDelta(index=0, delta=TextDelta(text="Hello from the fake"))
    assert events[-3:] == [
        BlockStop(index=0),
        MessageDelta(stop_reason="end_turn", stop_sequence=None, usage=END_USAGE),
        MessageStop(),
    ]
    response = await accumulate(aiter_of(events))
    assert response.content == [
        TextBlock(
            text="Hello from the fake upstream! Unicode survives: café, naïve, 日本語, emoji 🚀🎉. "
            "Quotes \"double\" and 'single', a backslash \\ and a newline\nsecond line. The end."
        )
    ]


async def test_thinking_stream_carries_thinking_deltas_then_signature():
    events = without_native(await parse("anthropic/stream_thinking.sse"))
    assert events[1] == BlockStart(index=0, block=ThinkingBlock(thinking=""))  # empty signature: none yet
    deltas = [e.delta for e in events if isinstance(e, BlockDelta)]
    thinking = [delta.thinking for delta in deltas if isinstance(delta, ThinkingDelta)]
    assert "".join(thinking) == "The user wants a greeting. I will answer briefly."
    assert BlockDelta(
        index=0, delta=SignatureDelta(signature="EqQBCkgIARABGAIiQL2conformance0signature0fake0AAAA==")
    ) in events
    assert BlockStart(index=1, block=TextBlock(text="")) in events
    response = await accumulate(aiter_of(events))
    assert response.content[0] == ThinkingBlock(
        thinking="The user wants a greeting. I will answer briefly.",
        signature="EqQBCkgIARABGAIiQL2conformance0signature0fake0AAAA==",
    )


async def test_parallel_tool_use_fragments_join_to_each_tools_input():
    events = without_native(await parse("anthropic/stream_tool_use_parallel.sse"))
    starts = [e for e in events if isinstance(e, BlockStart)]
    assert starts == [
        BlockStart(index=0, block=ToolUseBlock(id="toolu_01K9LWUMIwgpPRRAXuyz4eCW", name="get_weather",
                                               input=msgspec.Raw(b"{}"))),
        BlockStart(index=1, block=ToolUseBlock(id="toolu_01zhhpVgksAhQwtJyspt4Xxl", name="get_time",
                                               input=msgspec.Raw(b"{}"))),
    ]
    fragments = {0: "", 1: ""}
    for event in events:
        if isinstance(event, BlockDelta):
            assert isinstance(event.delta, ToolInputDelta)
            fragments[event.index] += event.delta.partial_json
    assert msgspec.json.decode(fragments[0])["details"]["note"] == 'naïve "quoted"'
    assert msgspec.json.decode(fragments[1]) == {
        "city": "Tokyo", "unit": "fahrenheit", "days": 1, "details": {"hourly": False, "fields": []},
    }
    assert events[-2] == MessageDelta(stop_reason="tool_use", stop_sequence=None, usage=END_USAGE)


async def test_midstream_error_event_becomes_stream_error_and_ends_the_stream():
    events = await parse("anthropic/stream_midstream_error.sse")
    error = events[-1]
    assert isinstance(error, StreamError)
    assert (error.kind, error.message) == (ErrorKind.OVERLOADED.value, "Overloaded (scripted MIDERR)")
    assert error.native == data_lines("anthropic/stream_midstream_error.sse")[-1]
    assert [type(e) for e in events[:-1]] == [MessageStart, BlockStart, Ping, BlockDelta, BlockDelta]


async def test_unknown_events_and_deltas_pass_as_pings_and_cache_usage_adds_up():
    events = await parse("anthropic/stream_citations_unknown_event.sse")
    assert [type(e) for e in events] == [
        MessageStart, BlockStart, Ping, Ping, BlockDelta, BlockStop, Ping, MessageDelta, MessageStop,
    ]
    assert b"citations_delta" in events[3].native
    assert b"future_event" in events[6].native
    cache = {"cache_read_tokens": 1200, "cache_creation_tokens": 300}
    assert events[0].usage == Usage(input_tokens=25 + 1200 + 300, output_tokens=1, **cache)
    assert events[7].usage == Usage(input_tokens=25 + 1200 + 300, output_tokens=12, **cache)


async def test_message_delta_with_only_output_tokens_leaves_input_unknown():
    lines = [
        b'data: {"type":"message_start","message":{"id":"m","model":"c","content":[],'
        b'"usage":{"input_tokens":5,"output_tokens":1}}}',
        b"",
        b'data: {"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},'
        b'"usage":{"output_tokens":7}}',
        b"",
        b'data: {"type":"message_stop"}',
        b"",
    ]
    events = await collect(anthropic_events(lines))
    assert events[1].usage == Usage(output_tokens=7)
    assert events[1].stop_reason == "max_tokens"


async def test_stream_ending_before_message_stop_raises_unavailable():
    lines = sse_lines("anthropic/stream_text.sse")
    cut = lines[: lines.index(b"event: message_delta")]
    with pytest.raises(GatewayError) as caught:
        await collect(anthropic_events(cut))
    assert caught.value.kind is ErrorKind.UNAVAILABLE
    assert "ended early" in caught.value.message


async def test_undecodable_event_is_a_protocol_error():
    with pytest.raises(GatewayError) as caught:
        await collect(anthropic_events([b"event: message_start", b"data: {not json", b""]))
    assert caught.value.kind is ErrorKind.PROTOCOL


async def test_frames_after_message_stop_are_read_but_not_yielded():
    lines = [*sse_lines("anthropic/stream_text.sse"), b'data: {"type":"ping"}', b""]
    consumed = []

    def tracking():
        for line in lines:
            consumed.append(line)
            yield line

    events = await collect(anthropic_events(tracking()))
    assert isinstance(events[-1], MessageStop)
    assert len(consumed) == len(lines)
