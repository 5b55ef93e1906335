"""A stored turn gives ``previous_response_id`` its history, on any provider."""

from __future__ import annotations

import msgspec

from adapters.inbound.openai_responses.decode import ResponsesCall, to_ir
from adapters.inbound.openai_responses.encode import from_ir
from adapters.inbound.openai_responses.history import history_items, stored_response, turn_record
from adapters.outbound.anthropic.request import build_body as anthropic_body
from adapters.outbound.anthropic.settings import AnthropicSettings
from adapters.outbound.openai.request import build_body as openai_body
from adapters.outbound.openai.settings import OpenAISettings
from adapters.protocols.openai.responses.response import Response
from domain.ir import (
    ChatResponse,
    Message,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
    Usage,
)
from tests.conftest import fixture_bytes
from tests.unit.adapters.inbound.openai_responses.support import (
    call_of,
    encode,
    end,
    record_for,
    sdk_response,
    start,
    text_block,
)

THINKING = ThinkingBlock(thinking="I should call the tool.", signature="EqQBsig==")
CALL = ToolUseBlock(id="toolu_01", name="weather", input=msgspec.Raw(b'{"city":"Paris"}'))


def first_turn() -> tuple[ResponsesCall, Response, bytes]:
    call = call_of(instructions="You are a weather bot.", input="Weather in Paris?")
    answer = ChatResponse(
        id="msg_1", model="claude-sonnet-4-5", content=[THINKING, CALL], stop_reason="tool_use"
    )
    response = from_ir(answer, call, record_for("anthropic"))
    return call, response, turn_record(call, [], response)


def follow_up(record: bytes, **params: object) -> tuple[ResponsesCall, list[msgspec.Raw]]:
    result = {"type": "function_call_output", "call_id": "toolu_01", "output": "Rain, 12°C"}
    call = call_of(previous_response_id="resp_first", input=[result], **params)
    return call, history_items(record)


def test_a_follow_up_continues_the_stored_conversation() -> None:
    _, _, record = first_turn()
    call, history = follow_up(record, instructions="Answer in French.")
    request = to_ir(call, history)

    assert call.previous_response_id == "resp_first"
    assert request.system == [
        TextBlock(text="Answer in French.")
    ]  # the first turn's instructions are not carried
    assert request.messages == [
        Message(role="user", content=[TextBlock(text="Weather in Paris?")]),
        Message(role="assistant", content=[THINKING, CALL]),
        Message(
            role="user",
            content=[ToolResultBlock(tool_use_id="toolu_01", content=[TextBlock(text="Rain, 12°C")])],
        ),
    ]


def test_a_chain_of_turns_needs_one_lookup() -> None:
    _, _, record = first_turn()
    call, history = follow_up(record)
    second = from_ir(
        ChatResponse(
            id="msg_2", model="gpt-4o", content=[TextBlock(text="Rainy.")], usage=Usage(input_tokens=5)
        ),
        call,
        record_for("openai"),
    )
    third = call_of(previous_response_id=second.id, input="And tomorrow?")
    request = to_ir(third, history_items(turn_record(call, history, second)))
    assert [m.role for m in request.messages] == ["user", "assistant", "user", "assistant", "user"]
    assert request.messages[3].content == [TextBlock(text="Rainy.")]
    assert request.messages[4].content == [TextBlock(text="And tomorrow?")]


def test_the_stored_response_is_what_the_client_got() -> None:
    _, response, record = first_turn()
    body = stored_response(record)
    assert body == msgspec.json.encode(response)
    assert sdk_response(body).id == response.id


def test_history_from_anthropic_continues_on_chat_completions() -> None:
    _, _, record = first_turn()
    body = msgspec.json.decode(
        openai_body(to_ir(*follow_up(record)), "gpt-4o", OpenAISettings(name="o", base_url="x"))
    )
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "tool"]
    assert body["messages"][1]["tool_calls"][0]["id"] == body["messages"][2]["tool_call_id"] == "toolu_01"


def test_history_from_a_native_openai_turn_continues_on_anthropic() -> None:
    """A turn OpenAI answered itself (with its own encrypted reasoning): Anthropic gets the
    calls, not the reasoning."""
    stored = msgspec.json.encode(
        {
            "input": [{"role": "user", "content": "Weather in Tokyo?"}],
            "response": msgspec.Raw(
                fixture_bytes("openai_responses/response_openai_reasoning_function_call.json")
            ),
        }
    )
    result = {"type": "function_call_output", "call_id": "call_hXKQ2nE7m0aVs3kWzBfT9yLd", "output": "Sunny"}
    request = to_ir(call_of(previous_response_id="resp_68d5", input=[result]), history_items(stored))
    body = msgspec.json.decode(anthropic_body(request, "claude", AnthropicSettings(name="a", base_url="x")))
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert [b["type"] for b in body["messages"][1]["content"]] == ["tool_use"]
    assert body["messages"][2]["content"][0]["type"] == "tool_result"


async def test_a_streamed_turn_is_stored_from_the_final_hook() -> None:
    call = call_of(stream=True, input="Hi")
    records: list[bytes] = []

    async def store(response: Response) -> None:
        records.append(turn_record(call, [], response))

    await encode([start(), *text_block(0, "Hello!"), *end()], call, record_for(), store)
    (record,) = records
    request = to_ir(call_of(previous_response_id=call.response_id, input="Again"), history_items(record))
    assert [(m.role, m.content) for m in request.messages] == [
        ("user", [TextBlock(text="Hi")]),
        ("assistant", [TextBlock(text="Hello!")]),
        ("user", [TextBlock(text="Again")]),
    ]
