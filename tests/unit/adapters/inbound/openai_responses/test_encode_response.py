"""IR ChatResponse -> the Response object, read back with the official SDK's model."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from adapters.inbound.openai_responses.encode import encode_response, from_ir
from adapters.outbound.anthropic.response import parse_response as parse_anthropic
from adapters.outbound.openai.response import parse_response as parse_openai
from domain.ir import (
    ChatResponse,
    ImageBlock,
    OpaqueBlock,
    StopReason,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    Usage,
)
from tests.conftest import fixture_bytes
from tests.unit.adapters.inbound.openai_responses.support import (
    call_of,
    fixture_call,
    record_for,
    sdk_response,
)


def reply(*blocks: Any, stop: StopReason | None = "end_turn", **usage: int) -> ChatResponse:
    return ChatResponse(
        id="msg_01", model="claude-sonnet-4-5", content=list(blocks), stop_reason=stop, usage=Usage(**usage)
    )


def encoded(
    response: ChatResponse, upstream: str = "anthropic", alias: str | None = None, **params: Any
) -> dict[str, Any]:
    call = call_of(**params)
    body = encode_response(from_ir(response, call, record_for(upstream, alias)))
    sdk_response(body)  # the SDK's model accepts every member
    return msgspec.json.decode(body)


def test_text_answer() -> None:
    call = call_of()
    body = encode_response(
        from_ir(reply(TextBlock(text="Hello!"), input_tokens=12, output_tokens=3), call, record_for())
    )
    response = sdk_response(body)

    assert response.id == call.response_id and response.object == "response"
    assert response.created_at == call.created_at and response.completed_at is not None
    assert response.status == "completed" and response.error is None and response.incomplete_details is None
    assert response.model == "claude-sonnet-4-5"
    assert response.output_text == "Hello!"
    (message,) = response.output
    assert message.type == "message" and message.role == "assistant" and message.status == "completed"
    assert message.id.startswith("msg_")
    assert [part.model_dump() for part in message.content] == [
        {"type": "output_text", "text": "Hello!", "annotations": [], "logprobs": []}
    ]
    assert response.usage is not None
    assert response.usage.model_dump() == {
        "input_tokens": 12,
        "input_tokens_details": {
            "cached_tokens": 0,
            "cache_write_tokens": 0,
            "cache_write_tokens_details": None,
        },
        "output_tokens": 3,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 15,
    }


def test_the_route_alias_is_the_reported_model() -> None:
    assert encoded(reply(TextBlock(text="x")), alias="gpt-5")["model"] == "gpt-5"


def test_consecutive_texts_are_one_message_and_tool_calls_their_own_items() -> None:
    body = encoded(
        reply(
            TextBlock(text="Let me "),
            TextBlock(text="check."),
            ToolUseBlock(id="toolu_01", name="weather", input=msgspec.Raw(b'{"city":"Paris"}')),
            ToolUseBlock(id="toolu_02", name="time", input=msgspec.Raw(b"{}")),
            stop="tool_use",
        )
    )
    message, first, second = body["output"]
    assert message["content"][0]["text"] == "Let me check."
    assert {k: first[k] for k in ("type", "status", "call_id", "name", "arguments")} == {
        "type": "function_call",
        "status": "completed",
        "call_id": "toolu_01",
        "name": "weather",
        "arguments": '{"city":"Paris"}',
    }
    assert first["id"].startswith("fc_") and first["id"] != second["id"]
    assert second["arguments"] == "{}"
    assert body["status"] == "completed"


def test_arguments_that_were_not_json_are_given_back_as_written() -> None:
    block = ToolUseBlock(id="c", name="f", input=msgspec.Raw(b'{"_raw_arguments":"{\\"a\\": 1"}'))
    assert encoded(reply(block))["output"][0]["arguments"] == '{"a": 1'


def test_a_custom_tool_call_is_a_custom_tool_call_item() -> None:
    patch = "*** Begin Patch\n*** End Patch\n"
    call = call_of(tools=[{"type": "custom", "name": "apply_patch"}])
    block = ToolUseBlock(
        id="toolu_9", name="apply_patch", input=msgspec.Raw(msgspec.json.encode({"input": patch}))
    )
    body = encode_response(from_ir(reply(block, stop="tool_use"), call, record_for()))
    (item,) = sdk_response(body).output
    assert item.type == "custom_tool_call"
    assert (item.call_id, item.name, item.input) == ("toolu_9", "apply_patch", patch)
    assert item.id is not None and item.id.startswith("ctc_")


@pytest.mark.parametrize(
    ("stop", "reason"),
    [
        ("max_tokens", "max_output_tokens"),
        ("model_context_window_exceeded", "max_output_tokens"),
        ("refusal", "content_filter"),
        ("content_filter", "content_filter"),
    ],
)
def test_an_answer_cut_short_is_incomplete_with_its_reason(stop: StopReason, reason: str) -> None:
    body = encoded(reply(TextBlock(text="The answer is"), stop=stop))
    assert body["status"] == "incomplete"
    assert body["incomplete_details"] == {"reason": reason}
    assert body["output"][0]["status"] == "incomplete"
    assert body["completed_at"] is None


def test_usage_reports_cached_written_and_reasoning_tokens() -> None:
    usage = encoded(
        reply(
            TextBlock(text="x"),
            input_tokens=100,
            output_tokens=50,
            cache_read_tokens=80,
            cache_creation_tokens=10,
            reasoning_tokens=30,
        )
    )["usage"]
    assert usage == {
        "input_tokens": 100,
        "input_tokens_details": {"cached_tokens": 80, "cache_write_tokens": 10},
        "output_tokens": 50,
        "output_tokens_details": {"reasoning_tokens": 30},
        "total_tokens": 150,
    }


def test_blocks_with_no_responses_form_are_left_out() -> None:
    server_tool = OpaqueBlock(
        protocol="anthropic", kind="server_tool_use", data=msgspec.Raw(b'{"type":"server_tool_use"}')
    )
    body = encoded(reply(server_tool, ImageBlock(url="https://x.test/a.png"), TextBlock(text="Done")))
    assert [item["type"] for item in body["output"]] == ["message"]


def test_request_parameters_are_echoed_as_sent() -> None:
    body = encoded(
        reply(TextBlock(text="x")),
        instructions="Be brief.",
        tools=[{"type": "function", "name": "f", "parameters": {"type": "object"}}, {"type": "web_search"}],
        tool_choice={"type": "function", "name": "f"},
        temperature=0.3,
        top_p=0.8,
        max_output_tokens=99,
        parallel_tool_calls=False,
        metadata={"k": "v"},
        text={"format": {"type": "json_object"}},
        reasoning={"effort": "low"},
        store=False,
        previous_response_id="resp_prev",
        user="u-1",
        prompt_cache_key="pck",
    )
    echoed = {
        k: body[k]
        for k in ("instructions", "tools", "tool_choice", "temperature", "top_p", "max_output_tokens")
    }
    assert echoed == {
        "instructions": "Be brief.",
        "tools": [
            {"type": "function", "name": "f", "parameters": {"type": "object"}},
            {"type": "web_search"},
        ],
        "tool_choice": {"type": "function", "name": "f"},
        "temperature": 0.3,
        "top_p": 0.8,
        "max_output_tokens": 99,
    }
    rest = (
        "parallel_tool_calls",
        "metadata",
        "text",
        "reasoning",
        "store",
        "previous_response_id",
        "user",
        "prompt_cache_key",
    )
    assert {k: body[k] for k in rest} == {
        "parallel_tool_calls": False,
        "metadata": {"k": "v"},
        "text": {"format": {"type": "json_object"}},
        "reasoning": {"effort": "low"},
        "store": False,
        "previous_response_id": "resp_prev",
        "user": "u-1",
        "prompt_cache_key": "pck",
    }


def test_defaults_echoed_when_the_client_sent_nothing() -> None:
    body = encoded(reply(TextBlock(text="x")))
    defaults = {
        k: body[k]
        for k in ("tools", "tool_choice", "parallel_tool_calls", "text", "metadata", "store", "truncation")
    }
    assert defaults == {
        "tools": [],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "metadata": {},
        "store": True,
        "truncation": "disabled",
    }


def test_members_match_what_the_api_sends() -> None:
    """Every member a real Response has, ours has too (recorded from the API)."""
    real = msgspec.json.decode(fixture_bytes("openai_responses/response_openai_reasoning_function_call.json"))
    ours = encoded(
        reply(
            ThinkingBlock(thinking="Hmm.", signature="sig"),
            ToolUseBlock(id="t", name="f", input=msgspec.Raw(b"{}")),
        )
    )
    assert set(real) <= set(ours)
    assert set(real["usage"]) <= set(ours["usage"])
    for real_item, our_item in zip(real["output"], ours["output"], strict=True):
        assert set(real_item) <= set(our_item)


def test_a_recorded_anthropic_answer_with_thinking_and_tools() -> None:
    response = parse_anthropic(fixture_bytes("anthropic/message_thinking.json"))
    body = encode_response(from_ir(response, fixture_call("request_codex.json"), record_for("anthropic")))
    parsed = sdk_response(body)
    kinds = [item.type for item in parsed.output]
    assert kinds[0] == "reasoning"
    reasoning = parsed.output[0]
    assert reasoning.encrypted_content is not None and reasoning.encrypted_content.startswith("gateway.v1.")
    assert reasoning.summary[0].text == response.content[0].thinking  # type: ignore[union-attr]


def test_a_recorded_chat_completions_answer_with_parallel_tool_calls() -> None:
    response = parse_openai(fixture_bytes("openai/chat_tool_calls_parallel.json"))
    parsed = sdk_response(encode_response(from_ir(response, call_of(), record_for("openai"))))
    calls = [item for item in parsed.output if item.type == "function_call"]
    assert len(calls) == 2 and len({c.call_id for c in calls}) == 2
