"""IR events -> Responses SSE events, judged by the official SDK: every event validated by its
event union, the whole stream folded by the SDK's own accumulator (``responses.stream``)."""

from __future__ import annotations

import msgspec
import pytest

from adapters.protocols.openai.responses.response import Response
from domain.ir import (
    BlockDelta,
    BlockStart,
    BlockStop,
    OpaqueBlock,
    Ping,
    SignatureDelta,
    StopReason,
    StreamError,
    ThinkingBlock,
    ThinkingDelta,
    ToolInputDelta,
    ToolUseBlock,
)
from tests.unit.adapters.inbound.openai_responses.support import (
    call_of,
    check_invariants,
    encode,
    end,
    frames,
    record_for,
    sdk_final,
    start,
    text_block,
    tool_block,
    types,
)


async def test_text_stream_lifecycle() -> None:
    call = call_of(stream=True)
    raw = await encode([start(), *text_block(0, "Hello", ", world"), *end()], call)
    events = check_invariants(raw)

    assert types(events) == [
        "created",
        "in_progress",
        "output_item.added",
        "content_part.added",
        "output_text.delta",
        "output_text.delta",
        "output_text.done",
        "content_part.done",
        "output_item.done",
        "completed",
    ]
    created = events[0][1]["response"]
    assert (created["id"], created["status"], created["output"]) == (call.response_id, "in_progress", [])
    final = sdk_final(raw)
    assert final.id == call.response_id and final.status == "completed"
    assert final.output_text == "Hello, world"
    assert final.usage is not None and (final.usage.input_tokens, final.usage.output_tokens) == (20, 7)


async def test_tool_calls_before_text_get_their_own_output_indexes() -> None:
    """The bug LiteLLM's users hit: a tool call streamed before text must not share index 0."""
    raw = await encode(
        [
            start(),
            *tool_block(0, "toolu_1", "weather", '{"city":', '"Paris"}'),
            *text_block(1, "Checking", " Paris."),
            *tool_block(2, "toolu_2", "time", ""),
            *end("tool_use"),
        ]
    )
    events = check_invariants(raw)
    final = sdk_final(raw)

    assert [item.type for item in final.output] == ["function_call", "message", "function_call"]
    first, message, second = final.output
    assert (first.call_id, first.name, first.arguments) == ("toolu_1", "weather", '{"city":"Paris"}')  # type: ignore[union-attr]
    assert message.content[0].text == "Checking Paris."  # type: ignore[union-attr]
    assert (second.call_id, second.arguments) == ("toolu_2", "{}")  # type: ignore[union-attr]
    deltas = [d for _, d in events if d["type"] == "response.function_call_arguments.delta"]
    assert [(d["output_index"], d["delta"]) for d in deltas] == [(0, '{"city":'), (0, '"Paris"}'), (2, "")]


async def test_output_indexes_count_items_not_upstream_blocks() -> None:
    server_tool = OpaqueBlock(protocol="anthropic", kind="server_tool_use", data=msgspec.Raw(b"{}"))
    raw = await encode(
        [
            start(),
            BlockStart(index=0, block=server_tool),  # no Responses item
            BlockStop(index=0),
            *text_block(1),  # no text: no message
            *tool_block(2, "toolu_1", "f", "{}"),
            *text_block(3, "Done"),
            *end(),
        ]
    )
    events = check_invariants(raw)
    added = [
        (d["output_index"], d["item"]["type"]) for _, d in events if d["type"] == "response.output_item.added"
    ]
    assert added == [(0, "function_call"), (1, "message")]
    assert [d["output_index"] for _, d in events if d["type"] == "response.output_text.delta"] == [1]


async def test_interleaved_tool_calls_keep_their_items_apart() -> None:
    starts = [
        BlockStart(index=i, block=ToolUseBlock(id=f"call_{i}", name="f", input=msgspec.Raw(b"{}")))
        for i in (0, 1)
    ]
    fragments = [
        BlockDelta(index=i, delta=ToolInputDelta(partial_json=s))
        for i, s in [(0, '{"a":'), (1, '{"b":'), (0, "1}"), (1, "2}")]
    ]
    raw = await encode(
        [start(), *starts, *fragments, BlockStop(index=0), BlockStop(index=1), *end("tool_use")]
    )
    check_invariants(raw)
    final = sdk_final(raw)
    assert [(i.call_id, i.arguments) for i in final.output] == [("call_0", '{"a":1}'), ("call_1", '{"b":2}')]  # type: ignore[union-attr]


async def test_consecutive_text_blocks_share_one_message() -> None:
    raw = await encode([start(), *text_block(0, "A "), Ping(), *text_block(1, "B"), *end()])
    check_invariants(raw)
    (message,) = sdk_final(raw).output
    assert message.content[0].text == "A B"  # type: ignore[union-attr]


async def test_thinking_streams_as_a_reasoning_summary_with_its_state_at_the_end() -> None:
    raw = await encode(
        [
            start(),
            BlockStart(index=0, block=ThinkingBlock(thinking="")),
            BlockDelta(index=0, delta=ThinkingDelta(thinking="Let me")),
            BlockDelta(index=0, delta=ThinkingDelta(thinking=" think.")),
            BlockDelta(index=0, delta=SignatureDelta(signature="EqQBsig")),
            BlockStop(index=0),
            *text_block(1, "Done."),
            *end(),
        ]
    )
    events = check_invariants(raw)
    assert types(events)[2:9] == [
        "output_item.added",
        "reasoning_summary_part.added",
        "reasoning_summary_text.delta",
        "reasoning_summary_text.delta",
        "reasoning_summary_text.done",
        "reasoning_summary_part.done",
        "output_item.done",
    ]
    added, done = events[2][1]["item"], events[8][1]["item"]
    assert added["encrypted_content"] is None  # the state is known only when the block is whole
    assert done["summary"] == [{"type": "summary_text", "text": "Let me think."}]
    assert done["encrypted_content"].startswith("gateway.v1.")
    reasoning = sdk_final(raw).output[0]
    assert reasoning.type == "reasoning" and reasoning.encrypted_content == done["encrypted_content"]


@pytest.mark.parametrize(
    ("stop", "reason"), [("max_tokens", "max_output_tokens"), ("refusal", "content_filter")]
)
async def test_an_answer_cut_short_ends_incomplete(stop: StopReason, reason: str) -> None:
    raw = await encode([start(), *text_block(0, "The answer is"), *end(stop)])
    events = check_invariants(raw)
    name, last = events[-1]
    assert name == "response.incomplete"
    assert last["response"]["status"] == "incomplete"
    assert last["response"]["incomplete_details"] == {"reason": reason}
    item_done = next(d for _, d in events if d["type"] == "response.output_item.done")
    assert item_done["item"]["status"] == "incomplete"
    assert last["response"]["output"] == [item_done["item"]]


async def test_an_error_after_the_start_is_an_error_event_then_response_failed() -> None:
    raw = await encode(
        [start(), *text_block(0, "Partial"), StreamError(kind="overloaded", message="Overloaded"), *end()]
    )
    events = check_invariants(raw)
    assert types(events)[-2:] == ["error", "failed"]
    error = events[-2][1]
    assert (error["code"], error["message"]) == ("server_error", "Overloaded")
    failed = events[-1][1]["response"]
    assert failed["status"] == "failed"
    assert failed["error"] == {"code": "server_error", "message": "Overloaded"}
    assert failed["output"][0]["content"][0]["text"] == "Partial"
    assert failed["output"][0]["status"] == "incomplete"


async def test_a_rate_limit_mid_stream_has_the_apis_code() -> None:
    raw = await encode([start(), StreamError(kind="rate_limited", message="Slow down")])
    check_invariants(raw)
    assert frames(raw)[-1][1]["response"]["error"]["code"] == "rate_limit_exceeded"


async def test_the_final_response_is_handed_over_before_its_event_is_sent() -> None:
    call = call_of(stream=True)
    sent_before: list[bytes] = []
    finals: list[Response] = []
    chunks: list[bytes] = []

    async def on_final(response: Response) -> None:
        finals.append(response)
        sent_before.append(b"".join(chunks))

    from adapters.inbound.openai_responses.stream import encode_stream
    from tests.unit.adapters.inbound.openai_responses.support import aiter_of

    async for chunk in encode_stream(
        aiter_of([start(), *text_block(0, "Hi"), *end()]), call, record_for(), on_final
    ):
        chunks.append(chunk)

    (final,) = finals
    assert final.id == call.response_id and final.status == "completed"
    assert b"response.completed" not in sent_before[0]
    assert frames(b"".join(chunks))[-1][1]["response"] == msgspec.json.decode(msgspec.json.encode(final))


async def test_the_alias_is_the_model_of_every_snapshot() -> None:
    raw = await encode([start(), *text_block(0, "x"), *end()], ex=record_for(alias="gpt-5"))
    assert {d["response"]["model"] for _, d in frames(raw) if "response" in d} == {"gpt-5"}


async def test_a_stream_without_message_start_still_opens_properly() -> None:
    raw = await encode([*text_block(0, "x"), *end()])
    check_invariants(raw)
    assert sdk_final(raw).output_text == "x"


async def test_custom_tool_input_is_sent_whole_when_the_call_is() -> None:
    call = call_of(stream=True, tools=[{"type": "custom", "name": "apply_patch"}])
    raw = await encode(
        [
            start(),
            *tool_block(0, "toolu_p", "apply_patch", '{"input": "*** Begin', ' Patch"}'),
            *end("tool_use"),
        ],
        call,
    )
    events = check_invariants(raw)
    assert types(events)[2:] == [
        "output_item.added",
        "custom_tool_call_input.delta",
        "custom_tool_call_input.done",
        "output_item.done",
        "completed",
    ]
    (item,) = sdk_final(raw).output
    assert (item.type, item.call_id, item.input) == ("custom_tool_call", "toolu_p", "*** Begin Patch")  # type: ignore[union-attr]
