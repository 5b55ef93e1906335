"""Upstream chat.completion.chunk streams -> IR events."""

from __future__ import annotations

import msgspec
import pytest

from adapters.outbound.openai.response import parse_response
from domain.errors import ErrorKind, GatewayError
from domain.ir import (
    BlockDelta,
    BlockStart,
    BlockStop,
    ChatResponse,
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
from tests.conftest import fixture_bytes
from tests.streams import accumulate, aiter_of, frames_of, openai_events, parse_fixture, parse_lines, sse

CHUNK = b'{"id":"c1","object":"chat.completion.chunk","created":7,"model":"m","choices":[%s]}'


def chunk(choice: bytes = b"") -> bytes:
    return CHUNK % choice


def shape(events: list) -> list[tuple]:
    """Events without their payloads: (type, index) pairs, enough to check the grammar."""
    return [(type(e).__name__, getattr(e, "index", None)) for e in events]


def without_native(events: list) -> list:
    return [msgspec.structs.replace(e, native=None) for e in events]


def natives(events: list) -> list[bytes]:
    return [e.native for e in events if e.native is not None]


async def test_text_stream_with_usage_chunk() -> None:
    events = await parse_fixture("stream_text_with_usage.sse")
    completion = msgspec.json.decode(fixture_bytes("openai/chat_text.json"))
    expected_text = completion["choices"][0]["message"]["content"]

    assert events[0] == MessageStart(
        id="chatcmpl-DEbHjMo8etXZaT4MqcSlvDrYjd1BT",
        model="gpt-4o-mini",
        created=1795730117,
        native=events[0].native,
    )
    assert shape(events) == [
        ("MessageStart", None),
        ("BlockStart", 0),
        *[("BlockDelta", 0)] * 9,
        ("BlockStop", 0),
        ("MessageDelta", None),
        ("MessageStop", None),
    ]
    assert events[1].block == TextBlock(text="")
    assert "".join(e.delta.text for e in events if isinstance(e, BlockDelta)) == expected_text
    assert without_native(events[-2:]) == [
        MessageDelta(
            stop_reason="end_turn",
            usage=Usage(input_tokens=17, output_tokens=23, cache_read_tokens=0, reasoning_tokens=0),
        ),
        MessageStop(),
    ]


async def test_each_frame_rides_once_on_its_first_event_and_the_usage_chunk_only_when_asked() -> None:
    frames = frames_of(fixture_bytes("openai/stream_text_with_usage.sse"))
    chunks, usage_chunk, done = frames[:-2], frames[-2], frames[-1]
    assert done == b"[DONE]"

    quiet = await parse_fixture("stream_text_with_usage.sse", relay_usage=False)
    relayed = await parse_fixture("stream_text_with_usage.sse", relay_usage=True)

    assert natives(quiet) == chunks
    assert natives(relayed) == [*chunks, usage_chunk]
    assert relayed[-3] == Ping(native=usage_chunk)
    assert without_native(quiet) == without_native([e for e in relayed if not isinstance(e, Ping)])


async def test_parallel_tool_calls_open_one_block_per_index() -> None:
    events = await parse_fixture("stream_tool_calls_parallel.sse")
    completion = msgspec.json.decode(fixture_bytes("openai/chat_tool_calls_parallel.json"))
    calls = completion["choices"][0]["message"]["tool_calls"]

    starts = [e for e in events if isinstance(e, BlockStart)]
    assert [(s.index, s.block.id, s.block.name, bytes(s.block.input)) for s in starts] == [
        (0, "call_3QQz5niU4my9jIQPa8k6NUr4", "get_weather", b"{}"),
        (1, "call_iJoPjzD1fP56Gxryqvwk0RDg", "get_time", b"{}"),
    ]
    for index, call in enumerate(calls):
        fragments = [e.delta.partial_json for e in events if isinstance(e, BlockDelta) and e.index == index]
        assert all(isinstance(e.delta, ToolInputDelta) for e in events if isinstance(e, BlockDelta))
        assert "".join(fragments) == call["function"]["arguments"]
    assert shape(events)[-4:] == [
        ("BlockDelta", 1),
        ("BlockStop", 1),
        ("MessageDelta", None),
        ("MessageStop", None),
    ]
    assert [type(e).__name__ for e in events if isinstance(e, BlockStart | BlockStop)] == [
        "BlockStart",
        "BlockStop",
        "BlockStart",
        "BlockStop",
    ]
    assert events[-2].stop_reason == "tool_use"
    assert events[-2].usage == Usage()  # no usage chunk in this stream


async def test_accumulated_tool_stream_equals_the_non_streamed_answer() -> None:
    events = await parse_fixture("stream_tool_calls_parallel.sse")
    streamed = await accumulate(aiter_of(events))  # type: ignore[arg-type]
    complete = parse_response(fixture_bytes("openai/chat_tool_calls_parallel.json"))

    assert [(b.name, bytes(b.input)) for b in streamed.content] == [
        (b.name, bytes(b.input)) for b in complete.content
    ]
    assert streamed.stop_reason == complete.stop_reason == "tool_use"


async def test_text_then_tool_closes_the_text_block_before_the_tool_opens() -> None:
    events = await parse_fixture("stream_text_then_tool.sse")

    blocks = [e for e in events if isinstance(e, BlockStart | BlockStop)]
    assert [(type(e).__name__, e.index) for e in blocks] == [
        ("BlockStart", 0),
        ("BlockStop", 0),
        ("BlockStart", 1),
        ("BlockStop", 1),
    ]
    assert blocks[2].block.name == "get_weather"
    text = "".join(e.delta.text for e in events if isinstance(e, BlockDelta) and e.index == 0)
    arguments = "".join(e.delta.partial_json for e in events if isinstance(e, BlockDelta) and e.index == 1)
    assert text == "Let me look that up."
    assert msgspec.json.decode(arguments)["city"] == "Paris"
    assert events[-2].stop_reason == "tool_use"
    # The tool-call frame first closes the text block: its native rides on the BlockStop.
    assert blocks[1].native is not None and blocks[2].native is None


async def test_midstream_error_frame_becomes_the_last_event() -> None:
    events = await parse_fixture("stream_midstream_error.sse")
    error_frame = frames_of(fixture_bytes("openai/stream_midstream_error.sse"))[-1]

    assert shape(events) == [
        ("MessageStart", None),
        ("BlockStart", 0),
        ("BlockDelta", 0),
        ("BlockDelta", 0),
        ("StreamError", None),
    ]
    assert events[-1] == StreamError(
        kind="upstream",
        message="The server had an error while processing your request (scripted MIDERR).",
        native=error_frame,
    )


async def test_error_frame_before_anything_is_raised_so_the_service_can_answer_an_http_error() -> None:
    lines = sse(b'{"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":null}}')
    with pytest.raises(GatewayError) as caught:
        await parse_lines(lines)
    assert (caught.value.kind, caught.value.message) == (ErrorKind.RATE_LIMITED, "slow down")


async def test_reasoning_then_text_opens_a_thinking_block_then_a_text_block() -> None:
    events = await parse_fixture("stream_reasoning_then_text.sse")

    starts = [e.block for e in events if isinstance(e, BlockStart)]
    assert starts == [ThinkingBlock(thinking=""), TextBlock(text="")]
    assert [e.delta for e in events if isinstance(e, BlockDelta)] == [
        ThinkingDelta(thinking="Six times"),
        ThinkingDelta(thinking=" seven is 42."),
        TextDelta(text="The answer"),
        TextDelta(text=" is 42."),
    ]
    assert shape(events)[-4:] == [
        ("BlockDelta", 1),
        ("BlockStop", 1),
        ("MessageDelta", None),
        ("MessageStop", None),
    ]
    # usage in the finish chunk itself (OpenRouter) is carried by the MessageDelta
    assert events[-2].usage == Usage(
        input_tokens=11, output_tokens=25, cache_read_tokens=0, reasoning_tokens=18
    )


async def test_vllm_stop_string_in_a_stream_is_a_stop_sequence() -> None:
    events = await parse_fixture("stream_vllm_stop_string.sse")

    assert (events[-2].stop_reason, events[-2].stop_sequence) == ("stop_sequence", "END")
    assert events[-2].usage == Usage(input_tokens=12, output_tokens=5)


async def test_stream_ending_after_finish_reason_without_done_still_finishes() -> None:
    lines = sse(
        chunk(b'{"index":0,"delta":{"content":"hi"}}'),
        chunk(b'{"index":0,"delta":{},"finish_reason":"length"}'),
    )

    events = await parse_lines(lines)

    assert shape(events)[-2:] == [("MessageDelta", None), ("MessageStop", None)]
    assert events[-2].stop_reason == "max_tokens"


async def test_stream_ending_without_done_or_finish_reason_is_unavailable() -> None:
    with pytest.raises(GatewayError) as caught:
        await parse_lines(sse(chunk(b'{"index":0,"delta":{"content":"hi"}}')))
    assert (caught.value.kind, caught.value.message) == (ErrorKind.UNAVAILABLE, "upstream stream ended early")


async def test_done_without_finish_reason_closes_the_block_and_ends_the_turn() -> None:
    events = await parse_lines(sse(chunk(b'{"index":0,"delta":{"content":"hi"}}'), b"[DONE]"))

    assert shape(events) == [
        ("MessageStart", None),
        ("BlockStart", 0),
        ("BlockDelta", 0),
        ("BlockStop", 0),
        ("MessageDelta", None),
        ("MessageStop", None),
    ]
    assert events[-2].stop_reason == "end_turn"


@pytest.mark.parametrize("payload", [b"{not json", b'{"choices": 5}', b"[1]"])
async def test_undecodable_chunk_is_a_protocol_error(payload: bytes) -> None:
    with pytest.raises(GatewayError) as caught:
        await parse_lines(sse(chunk(b'{"index":0,"delta":{"content":"hi"}}'), payload))
    assert caught.value.kind is ErrorKind.PROTOCOL


async def test_other_choices_of_n_greater_than_one_only_travel_as_native_pings() -> None:
    other = chunk(b'{"index":1,"delta":{"content":"second answer"}}')
    finish = chunk(b'{"index":0,"delta":{},"finish_reason":"stop"}')
    lines = sse(chunk(b'{"index":0,"delta":{"content":"first"}}'), other, finish, b"[DONE]")

    events = await parse_lines(lines)

    assert Ping(native=other) in events
    assert [e.delta.text for e in events if isinstance(e, BlockDelta)] == ["first"]


async def test_whole_tool_calls_in_one_chunk_open_and_close_in_order() -> None:
    calls = (
        b'{"index":0,"delta":{"tool_calls":['
        b'{"index":0,"id":"a","type":"function","function":{"name":"f","arguments":"{\\"x\\":1}"}},'
        b'{"index":1,"id":"b","type":"function","function":{"name":"g","arguments":"{}"}}]},'
        b'"finish_reason":"tool_calls"}'
    )
    events = await parse_lines(sse(chunk(calls), b"[DONE]"))

    assert shape(events) == [
        ("MessageStart", None),
        ("BlockStart", 0),
        ("BlockDelta", 0),
        ("BlockStop", 0),
        ("BlockStart", 1),
        ("BlockDelta", 1),
        ("BlockStop", 1),
        ("MessageDelta", None),
        ("MessageStop", None),
    ]
    assert [e.delta.partial_json for e in events if isinstance(e, BlockDelta)] == ['{"x":1}', "{}"]


async def test_tool_fragments_without_index_follow_the_open_call() -> None:
    first = b'{"index":0,"delta":{"tool_calls":[{"id":"a","function":{"name":"f","arguments":"{\\"x\\""}}]}}'
    rest = b'{"index":0,"delta":{"tool_calls":[{"function":{"arguments":":1}"}}]}}'
    second = b'{"index":0,"delta":{"tool_calls":[{"id":"b","function":{"name":"g","arguments":"{}"}}]}}'
    finish = b'{"index":0,"delta":{},"finish_reason":"tool_calls"}'
    events = await parse_lines(sse(chunk(first), chunk(rest), chunk(second), chunk(finish), b"[DONE]"))

    starts = [e.block for e in events if isinstance(e, BlockStart)]
    assert [(b.id, b.name) for b in starts if isinstance(b, ToolUseBlock)] == [("a", "f"), ("b", "g")]
    assert [(e.index, e.delta.partial_json) for e in events if isinstance(e, BlockDelta)] == [
        (0, '{"x"'),
        (0, ":1}"),
        (1, "{}"),
    ]


async def test_a_tool_call_without_id_gets_one() -> None:
    call = (
        b'{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"f","arguments":"{}"}}]},'
        b'"finish_reason":"tool_calls"}'
    )
    events = await parse_lines(sse(chunk(call), b"[DONE]"))

    (start,) = [e for e in events if isinstance(e, BlockStart)]
    assert start.block.id.startswith("call_")


async def test_role_only_and_empty_chunks_yield_pings_carrying_their_frame() -> None:
    empty = chunk(b'{"index":0,"delta":{"content":""}}')
    finish = chunk(b'{"index":0,"delta":{},"finish_reason":"stop"}')
    lines = sse(chunk(b'{"index":0,"delta":{"role":"assistant"}}'), empty, finish, b"[DONE]")

    events = await parse_lines(lines)

    assert events[1] == Ping(native=empty)
    assert events[2] == Ping(native=finish)  # the finish chunk: no block to close
    assert shape(events) == [
        ("MessageStart", None),
        ("Ping", None),
        ("Ping", None),
        ("MessageDelta", None),
        ("MessageStop", None),
    ]


AZURE = [
    b'data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}',
    b"",
    b'data: {"id":"chatcmpl-AZ1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}',
    b"",
    b'data: {"id":"chatcmpl-AZ1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}',
    b"",
    b"data: [DONE]",
    b"",
]


async def test_azure_s_prompt_filter_chunk_first_is_relayed_and_the_message_starts_after_it() -> None:
    """Azure OpenAI opens a stream with a chunk of prompt_filter_results and no id or model:
    the message starts with the next chunk, keeping the upstream's id and model."""
    events = [e async for e in openai_events(AZURE)]
    assert isinstance(events[0], Ping) and events[0].native is not None  # still relayed natively
    start = events[1]
    assert isinstance(start, MessageStart)
    assert (start.id, start.model, start.created) == ("chatcmpl-AZ1", "gpt-4o-2024-08-06", 1700000000)


CALL_HEAD = b'{"id":"c1","object":"chat.completion.chunk","created":7,"model":"m","choices":[{"index":0,'
CALLS_FINISH = CALL_HEAD + b'"delta":{},"finish_reason":"tool_calls"}]}'


def call_chunk(call: bytes) -> bytes:
    return CALL_HEAD + b'"delta":{"tool_calls":[' + call + b"]}}]}"


async def calls_response(*calls: bytes) -> ChatResponse:
    events = await parse_lines(sse(*(call_chunk(c) for c in calls), CALLS_FINISH, b"[DONE]"))
    return await accumulate(aiter_of(events))  # type: ignore[arg-type]


async def test_parallel_calls_all_at_index_0_with_their_own_ids_stay_apart() -> None:
    """Gemini's OpenAI-compatible API streams each parallel tool call in its own chunk, all at
    ``index`` 0, each with its own id: a new id at a used index starts a new call."""
    events = await parse_fixture("stream_parallel_tool_calls_same_index.sse")
    starts = [e.block for e in events if isinstance(e, BlockStart)]
    assert [(b.id, b.name) for b in starts] == [
        ("function-call-8809181845727874956", "get_weather"),
        ("function-call-8809181845727874957", "get_time"),
        ("function-call-8809181845727874958", "get_weather"),
    ]
    response = await accumulate(aiter_of(events))  # type: ignore[arg-type]
    assert [bytes(b.input) for b in response.content if isinstance(b, ToolUseBlock)] == [
        b'{"city":"Paris"}', b'{"city":"Tokyo"}', b'{"city":"Lima"}'
    ]
    assert response.stop_reason == "tool_use"


async def test_fragments_repeating_their_call_id_stay_one_call() -> None:
    response = await calls_response(
        b'{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{\\"a\\""}}',
        b'{"index":0,"id":"call_1","function":{"arguments":":1}"}}',
    )
    calls = [b for b in response.content if isinstance(b, ToolUseBlock)]
    assert [(b.id, bytes(b.input)) for b in calls] == [("call_1", b'{"a":1}')]


async def test_an_id_arriving_after_an_anonymous_start_does_not_split_the_call() -> None:
    response = await calls_response(
        b'{"index":0,"type":"function","function":{"name":"f","arguments":"{\\"a\\""}}',
        b'{"index":0,"id":"call_1","function":{"arguments":":1}"}}',
    )
    assert [bytes(b.input) for b in response.content if isinstance(b, ToolUseBlock)] == [b'{"a":1}']
