"""Regression: Gemini's OpenAI-compatible API streams each parallel tool call in its own chunk,
all at ``index`` 0 with distinct ids; they were merged into one call with concatenated arguments."""

from __future__ import annotations

from domain.ir import BlockStart, ChatResponse, ToolUseBlock
from tests.streams import accumulate, aiter_of, parse_fixture, parse_lines, sse

HEAD = b'{"id":"c1","object":"chat.completion.chunk","created":7,"model":"m","choices":[{"index":0,'
FINISH = HEAD + b'"delta":{},"finish_reason":"tool_calls"}]}'


def call_chunk(call: bytes) -> bytes:
    return HEAD + b'"delta":{"tool_calls":[' + call + b"]}}]}"


async def response_of(*calls: bytes) -> ChatResponse:
    events = await parse_lines(sse(*(call_chunk(c) for c in calls), FINISH, b"[DONE]"))
    return await accumulate(aiter_of(events))  # type: ignore[arg-type]


async def test_a_new_id_at_a_used_index_starts_a_new_call() -> None:
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
    response = await response_of(
        b'{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{\\"a\\""}}',
        b'{"index":0,"id":"call_1","function":{"arguments":":1}"}}',
    )
    calls = [b for b in response.content if isinstance(b, ToolUseBlock)]
    assert [(b.id, bytes(b.input)) for b in calls] == [("call_1", b'{"a":1}')]


async def test_an_id_arriving_after_an_anonymous_start_does_not_split_the_call() -> None:
    response = await response_of(
        b'{"index":0,"type":"function","function":{"name":"f","arguments":"{\\"a\\""}}',
        b'{"index":0,"id":"call_1","function":{"arguments":":1}"}}',
    )
    assert [bytes(b.input) for b in response.content if isinstance(b, ToolUseBlock)] == [b'{"a":1}']
