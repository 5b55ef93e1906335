"""IR ChatResponse -> chat.completion bodies, checked with the official SDK's types."""

from __future__ import annotations

import time

import msgspec
import pytest
from openai.types.chat import ChatCompletion

from adapters.inbound.openai.encode import from_ir
from adapters.outbound.openai.response import parse_response
from domain.ir import (
    ChatResponse,
    NativeResponse,
    OpaqueBlock,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    Usage,
)
from domain.request_record import RequestRecord
from tests.conftest import fixture_bytes


def record_for(alias: str | None = None, upstream: str = "anthropic") -> RequestRecord:
    result = RequestRecord(app="a", frontdoor="openai")
    result.alias, result.upstream_protocol = alias, upstream
    return result


def response(
    *content, stop_reason="end_turn", usage=Usage(input_tokens=10, output_tokens=5), **fields
) -> ChatResponse:
    return ChatResponse(
        id="msg_01XFDUDYJgAACzvnptvVoYEL",
        model="claude-sonnet-4-5",
        content=list(content),
        stop_reason=stop_reason,
        usage=usage,
        created=1795730117,
        **fields,
    )


def test_native_body_is_relayed_byte_for_byte_without_alias() -> None:
    body = fixture_bytes("openai/chat_text.json")

    assert from_ir(parse_response(body), record_for(upstream="openai")) is body


def test_alias_replaces_only_the_model_and_made_up_fields_survive() -> None:
    body = (
        b'{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini",'
        b'"choices":[{"index":0,"message":{"role":"assistant","content":"hi",'
        b'"x_made_up":{"deep":[1,2,{"a":null}]}},"finish_reason":"stop"}],'
        b'"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2},"x_vendor":"kept"}'
    )

    out = from_ir(parse_response(body), record_for(alias="my-alias", upstream="openai"))

    original, relayed = msgspec.json.decode(body), msgspec.json.decode(out)
    assert relayed["model"] == "my-alias"
    assert {**relayed, "model": "gpt-4o-mini"} == original
    ChatCompletion.model_validate_json(out)


def test_text_response_builds_a_valid_chat_completion() -> None:
    out = from_ir(response(TextBlock(text="Hello "), TextBlock(text="world")), record_for())

    completion = ChatCompletion.model_validate_json(out)
    assert completion.id == "msg_01XFDUDYJgAACzvnptvVoYEL"
    assert completion.object == "chat.completion"
    assert (completion.created, completion.model) == (1795730117, "claude-sonnet-4-5")
    (choice,) = completion.choices
    assert (choice.index, choice.finish_reason) == (0, "stop")
    message = choice.message
    assert (message.role, message.content, message.tool_calls) == ("assistant", "Hello world", None)
    assert completion.usage is not None
    usage = completion.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (10, 5, 15)
    assert completion.usage.prompt_tokens_details is None  # unknown stays absent
    assert msgspec.json.decode(out)["choices"][0]["message"] == {
        "role": "assistant",
        "content": "Hello world",
        "refusal": None,
        "annotations": [],
    }


def test_tool_use_blocks_become_tool_calls_with_null_content() -> None:
    out = from_ir(
        response(
            ToolUseBlock(id="toolu_1", name="get_weather", input=msgspec.Raw(b'{"city": "Paris"}')),
            ToolUseBlock(id="toolu_2", name="get_time", input=msgspec.Raw(b"{}")),
            stop_reason="tool_use",
        ),
        record_for(),
    )

    choice = ChatCompletion.model_validate_json(out).choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert [(c.id, c.type, c.function.name, c.function.arguments) for c in choice.message.tool_calls] == [
        ("toolu_1", "function", "get_weather", '{"city": "Paris"}'),
        ("toolu_2", "function", "get_time", "{}"),
    ]


def test_text_then_tool_keeps_both() -> None:
    out = from_ir(
        response(
            TextBlock(text="Let me check."),
            ToolUseBlock(id="toolu_1", name="f", input=msgspec.Raw(b'{"a":1}')),
            stop_reason="tool_use",
        ),
        record_for(),
    )

    message = ChatCompletion.model_validate_json(out).choices[0].message
    assert message.content == "Let me check."
    assert message.tool_calls[0].function.arguments == '{"a":1}'


def test_thinking_becomes_reasoning_content_and_redacted_or_opaque_blocks_are_dropped() -> None:
    out = from_ir(
        response(
            ThinkingBlock(thinking="Let me think.", signature="sig"),
            RedactedThinkingBlock(data="xyz"),
            OpaqueBlock(protocol="anthropic", kind="server_tool_use", data=msgspec.Raw(b"{}")),
            TextBlock(text="42"),
            usage=Usage(input_tokens=100, output_tokens=50, cache_read_tokens=80, reasoning_tokens=30),
        ),
        record_for(),
    )

    completion = ChatCompletion.model_validate_json(out)
    message = completion.choices[0].message
    assert message.content == "42"
    assert message.model_extra == {"reasoning_content": "Let me think."}
    assert completion.usage.prompt_tokens_details.cached_tokens == 80
    assert completion.usage.completion_tokens_details.reasoning_tokens == 30


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("pause_turn", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),  # cut short by the context window: not complete
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("content_filter", "content_filter"),
        (None, "stop"),
    ],
)
def test_stop_reasons_map_to_finish_reasons(stop_reason: str | None, finish_reason: str) -> None:
    out = from_ir(response(TextBlock(text="x"), stop_reason=stop_reason), record_for())

    assert ChatCompletion.model_validate_json(out).choices[0].finish_reason == finish_reason


def test_alias_names_the_model_and_missing_created_is_now() -> None:
    ir = ChatResponse(id="msg_1", model="claude-x", content=[TextBlock(text="x")], stop_reason="end_turn")
    before = int(time.time())

    completion = ChatCompletion.model_validate_json(from_ir(ir, record_for(alias="gpt-4o")))

    assert completion.model == "gpt-4o"
    assert before <= completion.created <= int(time.time())
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (0, 0)


def test_empty_answer_has_empty_string_content() -> None:
    out = from_ir(response(stop_reason="max_tokens"), record_for())

    assert ChatCompletion.model_validate_json(out).choices[0].message.content == ""


def test_anthropic_native_body_is_not_relayed_to_an_openai_client() -> None:
    native = NativeResponse(protocol="anthropic", body=b'{"type":"message"}')
    ir = response(TextBlock(text="x"), native=native)

    assert ChatCompletion.model_validate_json(from_ir(ir, record_for())).choices[0].message.content == "x"
