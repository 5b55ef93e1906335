"""IR events -> chat.completion.chunk SSE frames, read back with the official SDK's stream."""

from __future__ import annotations

import httpx
import msgspec
import openai
import pytest
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk

from adapters.inbound.openai.stream import _ModelSwap, encode_stream
from domain.ir import (
    UNSET,
    AnyEvent,
    BlockDelta,
    BlockStart,
    BlockStop,
    ChatRequest,
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
from domain.request_record import RequestRecord
from tests.conftest import fixture_bytes
from tests.streams import aiter_of, frames_of, parse_fixture

_client = openai.OpenAI(api_key="test", base_url="http://gateway.test/v1")


def request(include_usage: bool | None = None) -> ChatRequest:
    return ChatRequest(
        model="claude-sonnet-4-5",
        messages=[],
        stream=True,
        include_usage=UNSET if include_usage is None else include_usage,
    )


def record_for(upstream: str = "anthropic", alias: str | None = None) -> RequestRecord:
    result = RequestRecord(app="a", frontdoor="openai")
    result.upstream_protocol, result.alias = upstream, alias
    return result


async def encode(events: list[AnyEvent], req: ChatRequest | None = None, ex: RequestRecord | None = None) -> bytes:
    frames = encode_stream(aiter_of(events), req or request(), ex or record_for())  # type: ignore[arg-type]
    return b"".join([frame async for frame in frames])


def sdk_chunks(raw: bytes) -> list[ChatCompletionChunk]:
    """The chunks the official SDK reads from ``raw`` (it stops at [DONE], raises on errors)."""
    response = httpx.Response(
        200,
        content=raw,
        headers={"content-type": "text/event-stream"},
        request=httpx.Request("POST", "http://gateway.test/v1/chat/completions"),
    )
    return list(openai.Stream(cast_to=ChatCompletionChunk, response=response, client=_client))


def start(**usage: int) -> MessageStart:
    return MessageStart(id="msg_01", model="claude-sonnet-4-5", created=1795730117, usage=Usage(**usage))


TEXT = [
    start(input_tokens=10),
    BlockStart(index=0, block=TextBlock(text="")),
    Ping(),
    BlockDelta(index=0, delta=TextDelta(text="Hello \"quoted\" ")),
    BlockDelta(index=0, delta=TextDelta(text="naïve 🚀\n")),
    BlockStop(index=0),
    MessageDelta(stop_reason="end_turn", usage=Usage(output_tokens=5)),
    MessageStop(),
]

TOOLS = [
    start(input_tokens=10),
    BlockStart(index=0, block=TextBlock(text="")),
    BlockDelta(index=0, delta=TextDelta(text="Checking.")),
    BlockStop(index=0),
    BlockStart(index=1, block=ToolUseBlock(id="toolu_a", name="get_weather", input=msgspec.Raw(b"{}"))),
    BlockDelta(index=1, delta=ToolInputDelta(partial_json='{"city": ')),
    BlockDelta(index=1, delta=ToolInputDelta(partial_json='"Paris"}')),
    BlockStop(index=1),
    BlockStart(index=2, block=ToolUseBlock(id="toolu_b", name="get_time", input=msgspec.Raw(b"{}"))),
    BlockDelta(index=2, delta=ToolInputDelta(partial_json="{}")),
    BlockStop(index=2),
    MessageDelta(stop_reason="tool_use", usage=Usage(output_tokens=30)),
    MessageStop(),
]


async def test_text_stream_is_role_chunk_content_chunks_finish_chunk_then_done() -> None:
    raw = await encode(TEXT)

    frames = frames_of(raw)
    assert frames[-1] == b"[DONE]" and raw.endswith(b"data: [DONE]\n\n")
    chunks = sdk_chunks(raw)
    assert {(c.id, c.object, c.created, c.model) for c in chunks} == {
        ("msg_01", "chat.completion.chunk", 1795730117, "claude-sonnet-4-5")
    }
    assert [(c.choices[0].delta.role, c.choices[0].delta.content) for c in chunks] == [
        ("assistant", ""),
        (None, 'Hello "quoted" '),
        (None, "naïve 🚀\n"),
        (None, None),
    ]
    assert [c.choices[0].finish_reason for c in chunks] == [None, None, None, "stop"]
    assert msgspec.json.decode(frames[-2])["choices"][0]["delta"] == {}  # finish chunk: nothing else
    assert all(b'"usage"' not in frame for frame in frames)  # not asked for: not sent at all


async def test_include_usage_adds_null_usage_to_chunks_and_a_final_usage_chunk() -> None:
    raw = await encode(TEXT, request(include_usage=True))

    frames = frames_of(raw)
    assert all(msgspec.json.decode(f)["usage"] is None for f in frames[:-2])
    chunks = sdk_chunks(raw)
    usage_chunk = chunks[-1]
    assert usage_chunk.choices == []
    usage = usage_chunk.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (10, 5, 15)
    assert chunks[-2].choices[0].finish_reason == "stop"


async def test_parallel_tool_calls_are_numbered_from_zero_after_text() -> None:
    chunks = sdk_chunks(await encode(TOOLS))

    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert deltas[1].content == "Checking."
    calls = [d.tool_calls[0] for d in deltas if d.tool_calls]
    assert [(c.index, c.id, c.type, c.function.name, c.function.arguments) for c in calls] == [
        (0, "toolu_a", "function", "get_weather", ""),
        (0, None, None, None, '{"city": '),
        (0, None, None, None, '"Paris"}'),
        (1, "toolu_b", "function", "get_time", ""),
        (1, None, None, None, "{}"),
    ]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


async def test_the_sdk_accumulator_rebuilds_the_whole_answer() -> None:
    state = ChatCompletionStreamState()
    for chunk in sdk_chunks(await encode(TOOLS, request(include_usage=True))):
        state.handle_chunk(chunk)

    completion = state.get_final_completion()
    message = completion.choices[0].message
    assert message.content == "Checking."
    assert [(c.id, c.function.name, c.function.arguments) for c in message.tool_calls] == [
        ("toolu_a", "get_weather", '{"city": "Paris"}'),
        ("toolu_b", "get_time", "{}"),
    ]
    assert completion.choices[0].finish_reason == "tool_calls"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (10, 30)


async def test_thinking_streams_as_reasoning_content_and_signatures_are_dropped() -> None:
    events = [
        start(),
        BlockStart(index=0, block=ThinkingBlock(thinking="")),
        BlockDelta(index=0, delta=ThinkingDelta(thinking="Let me think.")),
        BlockDelta(index=0, delta=SignatureDelta(signature="EqQBCgIYAhIM")),
        BlockStop(index=0),
        BlockStart(index=1, block=TextBlock(text="")),
        BlockDelta(index=1, delta=TextDelta(text="42")),
        BlockStop(index=1),
        MessageDelta(stop_reason="max_tokens"),
        MessageStop(),
    ]
    raw = await encode(events)

    chunks = sdk_chunks(raw)
    extras = [c.choices[0].delta.model_extra for c in chunks]
    assert extras == [{}, {"reasoning_content": "Let me think."}, {}, {}]
    assert chunks[2].choices[0].delta.content == "42"
    assert chunks[-1].choices[0].finish_reason == "length"
    assert b"EqQBCgIYAhIM" not in raw


async def test_alias_names_the_model_of_translated_chunks() -> None:
    chunks = sdk_chunks(await encode(TEXT, ex=record_for(alias="gpt-4o")))

    assert {c.model for c in chunks} == {"gpt-4o"}


async def test_stream_error_is_an_error_frame_and_no_done() -> None:
    events = [*TEXT[:4], StreamError(kind="overloaded", message="Overloaded")]
    raw = await encode(events, request(include_usage=True))

    assert frames_of(raw)[-1] == (
        b'{"error":{"message":"Overloaded","type":"service_unavailable_error","param":null,"code":null}}'
    )
    assert b"[DONE]" not in raw
    with pytest.raises(openai.APIError, match="Overloaded"):
        sdk_chunks(raw)


# --- native relay ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fixture", ["stream_text_with_usage.sse", "stream_tool_calls_parallel.sse", "stream_text_then_tool.sse"]
)
async def test_native_relay_reproduces_the_upstream_frames(fixture: str) -> None:
    upstream = frames_of(fixture_bytes(f"openai/{fixture}"))
    events = await parse_fixture(fixture, relay_usage=True)

    raw = await encode(events, request(include_usage=True), record_for(upstream="openai"))

    assert frames_of(raw) == upstream
    sdk_chunks(raw)


async def test_native_relay_drops_the_forced_usage_chunk_when_the_client_did_not_ask() -> None:
    upstream = frames_of(fixture_bytes("openai/stream_text_with_usage.sse"))
    events = await parse_fixture("stream_text_with_usage.sse", relay_usage=False)

    raw = await encode(events, request(), record_for(upstream="openai"))

    assert frames_of(raw) == [*upstream[:-2], b"[DONE]"]


async def test_native_relay_with_alias_replaces_only_the_model_and_keeps_made_up_fields() -> None:
    frame = (
        b'{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","x_vendor":{"a":[1]},'
        b'"choices":[{"index":0,"delta":{"content":"hi","x_delta":true},"finish_reason":null}]}'
    )
    events = [
        MessageStart(id="c1", model="gpt-4o-mini", native=frame),
        MessageDelta(stop_reason="end_turn"),
        MessageStop(),
    ]

    raw = await encode(events, ex=record_for(upstream="openai", alias="my-alias"))

    relayed = msgspec.json.decode(frames_of(raw)[0])
    assert relayed["model"] == "my-alias"
    assert {**relayed, "model": "gpt-4o-mini"} == msgspec.json.decode(frame)
    assert frames_of(raw)[1:] == [b"[DONE]"]


async def test_native_midstream_error_is_relayed_and_ends_without_done() -> None:
    upstream = frames_of(fixture_bytes("openai/stream_midstream_error.sse"))
    events = await parse_fixture("stream_midstream_error.sse")

    raw = await encode(events, ex=record_for(upstream="openai", alias="my-alias"))

    assert frames_of(raw)[-1] == upstream[-1]
    assert b"[DONE]" not in raw


async def test_native_relay_encodes_a_gateway_made_stream_error() -> None:
    events = [MessageStart(id="c1", model="m", native=b'{"id":"c1","model":"m","choices":[]}')]
    events.append(StreamError(kind="unavailable", message="upstream stream ended early"))

    raw = await encode(events, ex=record_for(upstream="openai"))

    assert frames_of(raw)[-1] == (
        b'{"error":{"message":"upstream stream ended early","type":"server_error","param":null,"code":null}}'
    )


async def test_closing_the_encoder_closes_the_event_source() -> None:
    closed = []

    async def source():
        try:
            for event in TEXT:
                yield event
        finally:
            closed.append(True)

    frames = encode_stream(source(), request(), record_for())
    await anext(frames)
    await frames.aclose()  # type: ignore[attr-defined]

    assert closed == [True]


async def test_native_data_of_several_lines_is_relayed_as_several_data_lines() -> None:
    native = b'{"id":"c1",\n"model":"m","choices":[]}'
    events = [MessageStart(id="c1", model="m", native=native), MessageDelta(), MessageStop()]

    raw = await encode(events, ex=record_for(upstream="openai"))

    assert raw.startswith(b'data: {"id":"c1",\ndata: "model":"m","choices":[]}\n\n')
    assert frames_of(raw)[-1] == b"[DONE]"


async def test_an_answer_cut_by_the_context_window_finishes_with_length() -> None:
    """Anthropic's ``model_context_window_exceeded`` is not a complete answer: ``length``."""
    events = [
        MessageStart(id="msg_1", model="m"),
        BlockStart(index=0, block=TextBlock(text="")),
        BlockDelta(index=0, delta=TextDelta(text="cut")),
        BlockStop(index=0),
        MessageDelta(stop_reason="model_context_window_exceeded"),
        MessageStop(),
    ]
    frames = frames_of(await encode(events))
    chunks = [msgspec.json.decode(frame) for frame in frames[:-1]]  # not [DONE]
    finishes = [chunk["choices"][0]["finish_reason"] for chunk in chunks]
    assert [reason for reason in finishes if reason] == ["length"]


def _relayed_chunks() -> list[bytes]:
    frames = fixture_bytes("openai/stream_tool_calls_parallel.sse").split(b"\n\n")
    return [f[len(b"data: ") :] for f in frames if f.startswith(b"data: {")]


def test_relayed_chunks_of_an_aliased_route_report_the_alias_and_nothing_else_changes() -> None:
    """The alias goes in by a byte replace once the first chunk has taught the bytes of its
    ``"model"`` member, not by re-encoding every chunk."""
    swap = _ModelSwap("claude-haiku-4.5")
    for chunk in _relayed_chunks():
        out = swap(chunk)
        original, relayed = msgspec.json.decode(chunk), msgspec.json.decode(out)
        assert relayed.pop("model") == "claude-haiku-4.5"
        original.pop("model")
        assert relayed == original


def test_a_relayed_model_member_spelled_differently_still_gets_the_alias() -> None:
    swap = _ModelSwap("alias")
    swap(b'{"id":"x","model":"gpt-4o","choices":[]}')
    out = swap(b'{"id":"x", "model": "gpt-4o", "choices":[]}')
    assert msgspec.json.decode(out)["model"] == "alias"
    assert swap(b'{"id":"x","choices":[]}') == b'{"id":"x","choices":[]}'  # no model: as it was
