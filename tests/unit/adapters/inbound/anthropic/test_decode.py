"""Anthropic client request -> IR: every mapping, a Claude Code request, and each bad input."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from msgspec import UNSET, Raw

from adapters.inbound.anthropic.decode import count_tokens_to_ir, to_ir
from domain.errors import ErrorKind, GatewayError
from domain.ir import (
    ChatRequest,
    ImageBlock,
    Message,
    OpaqueBlock,
    OpaqueTool,
    Reasoning,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    Tool,
    ToolChoice,
    ToolResultBlock,
    ToolUseBlock,
)
from tests.conftest import fixture_bytes

BASE: dict[str, Any] = {"model": "claude-sonnet-4-5", "max_tokens": 1024}
HI = [{"role": "user", "content": "Hi"}]


def decode(body: dict[str, Any], headers: dict[str, str] | None = None) -> ChatRequest:
    return to_ir(msgspec.json.encode(body), headers or {})


def user_blocks(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {**BASE, "messages": [{"role": "user", "content": list(blocks)}]}


def raw(value: Any) -> Raw:
    return Raw(msgspec.json.encode(value))


def as_json(value: Any) -> Any:
    """IR values compared as plain JSON (Raw fields included)."""
    return msgspec.json.decode(msgspec.json.encode(value))


# --- content blocks ---------------------------------------------------------------------

DOC = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "x"}, "title": "t"}
FILE_IMAGE = {"type": "image", "source": {"type": "file", "file_id": "file_011"}}
SERVER_USE = {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}}

BLOCK_CASES = [
    ("text", {"type": "text", "text": "Hello", "cache_control": {"type": "ephemeral"}}, TextBlock(text="Hello")),
    (
        "image_base64",
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
        ImageBlock(data="iVBORw0KGgo=", media_type="image/png"),
    ),
    (
        "image_url",
        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.jpg"}},
        ImageBlock(url="https://example.com/a.jpg"),
    ),
    ("image_file_is_opaque", FILE_IMAGE, OpaqueBlock(protocol="anthropic", kind="image", data=raw(FILE_IMAGE))),
    (
        "tool_use",
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris", "days": [1, 2]}},
        ToolUseBlock(id="toolu_1", name="get_weather", input=raw({"city": "Paris", "days": [1, 2]})),
    ),
    (
        "tool_result_string_error",
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "boom", "is_error": True},
        ToolResultBlock(tool_use_id="toolu_1", content=[TextBlock(text="boom")], is_error=True),
    ),
    (
        "tool_result_blocks",
        {
            "type": "tool_result",
            "tool_use_id": "toolu_1",
            "content": [
                {"type": "text", "text": "18C"},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/map.png"}},
            ],
        },
        ToolResultBlock(
            tool_use_id="toolu_1",
            content=[TextBlock(text="18C"), ImageBlock(url="https://example.com/map.png")],
        ),
    ),
    (
        "tool_result_without_content",
        {"type": "tool_result", "tool_use_id": "toolu_1"},
        ToolResultBlock(tool_use_id="toolu_1", content=[]),
    ),
    (
        "tool_result_nested_document_is_opaque",
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "a"}, DOC]},
        ToolResultBlock(
            tool_use_id="toolu_1",
            content=[TextBlock(text="a"), OpaqueBlock(protocol="anthropic", kind="document", data=raw(DOC))],
        ),
    ),
    (
        "thinking",
        {"type": "thinking", "thinking": "Let me think.", "signature": "EqQBsig=="},
        ThinkingBlock(thinking="Let me think.", signature="EqQBsig=="),
    ),
    ("redacted_thinking", {"type": "redacted_thinking", "data": "EmwKAhgB"}, RedactedThinkingBlock(data="EmwKAhgB")),
    (
        "tool_result_nested_file_image_is_opaque",
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": [FILE_IMAGE]},
        ToolResultBlock(
            tool_use_id="toolu_1", content=[OpaqueBlock(protocol="anthropic", kind="image", data=raw(FILE_IMAGE))]
        ),
    ),
    ("document", DOC, OpaqueBlock(protocol="anthropic", kind="document", data=raw(DOC))),
    ("server_tool_use", SERVER_USE, OpaqueBlock(protocol="anthropic", kind="server_tool_use", data=raw(SERVER_USE))),
]


@pytest.mark.parametrize(("block", "expected"), [c[1:] for c in BLOCK_CASES], ids=[c[0] for c in BLOCK_CASES])
def test_each_content_block_maps_to_its_ir_block(block: dict[str, Any], expected: Any) -> None:
    request = decode(user_blocks(block))
    assert as_json(request.messages) == as_json([Message(role="user", content=[expected])])


def test_string_content_is_one_text_block_and_roles_keep_order() -> None:
    body = {
        **BASE,
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": [{"type": "text", "text": "Bye"}]},
        ],
    }
    assert decode(body).messages == [
        Message(role="user", content=[TextBlock(text="Hi")]),
        Message(role="assistant", content=[TextBlock(text="Hello!")]),
        Message(role="user", content=[TextBlock(text="Bye")]),
    ]


def test_every_block_fixture_keeps_modelled_and_opaque_blocks_in_order() -> None:
    request = to_ir(fixture_bytes("anthropic/request_every_block.json"), {})
    kinds = [
        [b.kind if isinstance(b, OpaqueBlock) else type(b).__name__ for b in m.content] for m in request.messages
    ]
    assert kinds == [
        ["TextBlock", "ImageBlock", "ImageBlock", "image", "document", "search_result", "container_upload"],
        ["ThinkingBlock", "RedactedThinkingBlock", "TextBlock", "server_tool_use", "web_search_tool_result", "ToolUseBlock"],
        ["ToolResultBlock", "TextBlock"],
    ]
    result = request.messages[2].content[0]
    assert isinstance(result, ToolResultBlock) and result.is_error is False
    assert [type(b).__name__ for b in result.content] == ["TextBlock", "ImageBlock", "OpaqueBlock"]
    assert request.system == [TextBlock(text="You are a careful research assistant.")]
    tools = request.tools
    assert isinstance(tools, list)
    assert [t.name if isinstance(t, Tool) else t.kind for t in tools] == [
        "measure",
        "lookup",
        "web_search_20250305",
        "bash_20250124",
        "text_editor_20250728",
    ]
    assert as_json(tools[2]) == {
        "type": "opaque",
        "protocol": "anthropic",
        "kind": "web_search_20250305",
        "data": {"type": "web_search_20250305", "name": "web_search", "max_uses": 5, "allowed_domains": ["wikipedia.org"]},
    }
    assert as_json(tools[1]) == as_json(
        Tool(name="lookup", input_schema=raw({"type": "object", "properties": {"id": {"type": "integer"}}}), strict=True)
    )
    assert (request.temperature, request.top_p, request.top_k) == (0.7, 0.9, 40)
    assert request.stop == ["\n\nHuman:", "END"]
    assert request.user == "3f1e4c2a-user-hash"
    assert request.tool_choice == ToolChoice(mode="auto")
    assert request.parallel_tool_calls is False


# --- parameters -------------------------------------------------------------------------

PARAM_CASES = [
    ("system_string", {"system": "Be brief."}, "system", [TextBlock(text="Be brief.")]),
    (
        "system_blocks_drop_cache_control",
        {"system": [{"type": "text", "text": "A", "cache_control": {"type": "ephemeral"}}, {"type": "text", "text": "B"}]},
        "system",
        [TextBlock(text="A"), TextBlock(text="B")],
    ),
    ("max_tokens", {}, "max_tokens", 1024),
    ("temperature", {"temperature": 0.3}, "temperature", 0.3),
    ("top_p", {"top_p": 0.9}, "top_p", 0.9),
    ("top_k", {"top_k": 5}, "top_k", 5),
    ("stop_sequences", {"stop_sequences": ["END"]}, "stop", ["END"]),
    ("stream", {"stream": True}, "stream", True),
    ("stream_absent", {}, "stream", False),
    ("metadata_user_id", {"metadata": {"user_id": "u-1"}}, "user", "u-1"),
    ("null_is_absent", {"temperature": None, "metadata": None, "tools": None, "system": None}, "temperature", UNSET),
    ("tool_choice_auto", {"tool_choice": {"type": "auto"}}, "tool_choice", ToolChoice(mode="auto")),
    ("tool_choice_any", {"tool_choice": {"type": "any"}}, "tool_choice", ToolChoice(mode="any")),
    ("tool_choice_none", {"tool_choice": {"type": "none"}}, "tool_choice", ToolChoice(mode="none")),
    ("tool_choice_tool", {"tool_choice": {"type": "tool", "name": "f"}}, "tool_choice", ToolChoice(mode="tool", name="f")),
    (
        "disable_parallel_tool_use",
        {"tool_choice": {"type": "any", "disable_parallel_tool_use": True}},
        "parallel_tool_calls",
        False,
    ),
    ("parallel_by_default", {"tool_choice": {"type": "auto"}}, "parallel_tool_calls", UNSET),
    ("thinking_enabled", {"thinking": {"type": "enabled", "budget_tokens": 2048}}, "reasoning", Reasoning(budget_tokens=2048)),
    ("thinking_disabled", {"thinking": {"type": "disabled"}}, "reasoning", Reasoning(enabled=False)),
    ("thinking_adaptive", {"thinking": {"type": "adaptive"}}, "reasoning", Reasoning()),
    (
        "adaptive_with_effort",
        {"thinking": {"type": "adaptive"}, "output_config": {"effort": "high"}},
        "reasoning",
        Reasoning(effort="high"),
    ),
    ("effort_max_is_xhigh", {"output_config": {"effort": "max"}}, "reasoning", Reasoning(effort="xhigh")),
    ("unknown_thinking_type_native_only", {"thinking": {"type": "future_mode"}}, "reasoning", UNSET),
]


@pytest.mark.parametrize(("extra", "field", "expected"), [c[1:] for c in PARAM_CASES], ids=[c[0] for c in PARAM_CASES])
def test_each_parameter_maps_to_its_ir_field(extra: dict[str, Any], field: str, expected: Any) -> None:
    request = decode({**BASE, "messages": HI, **extra})
    assert getattr(request, field) == expected


def test_custom_tools_and_server_tools() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    web = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}
    request = decode(
        {
            **BASE,
            "messages": HI,
            "tools": [
                {"name": "get_weather", "description": "Weather.", "input_schema": schema},
                {"type": "custom", "name": "noop", "input_schema": {"type": "object"}},
                web,
            ],
        }
    )
    assert as_json(request.tools) == as_json(
        [
            Tool(name="get_weather", description="Weather.", input_schema=raw(schema)),
            Tool(name="noop", input_schema=raw({"type": "object"})),
            OpaqueTool(protocol="anthropic", kind="web_search_20250305", data=raw(web)),
        ]
    )


def test_structured_output_format_becomes_a_strict_json_schema_response_format() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False}
    request = decode({**BASE, "messages": HI, "output_config": {"format": {"type": "json_schema", "schema": schema}}})
    assert isinstance(request.response_format, Raw)
    assert msgspec.json.decode(request.response_format) == {
        "type": "json_schema",
        "json_schema": {"name": "response", "schema": schema, "strict": True},
    }


def test_system_role_messages_join_the_system_prompt_in_order() -> None:
    request = decode(
        {
            **BASE,
            "system": "First.",
            "messages": [
                {"role": "user", "content": "Hi"},
                {"role": "system", "content": [{"type": "text", "text": "Now answer in French."}]},
                {"role": "assistant", "content": "Bonjour"},
            ],
        }
    )
    assert request.system == [TextBlock(text="First."), TextBlock(text="Now answer in French.")]
    assert [m.role for m in request.messages] == ["user", "assistant"]


def test_passthrough_headers_and_native_fields() -> None:
    body = fixture_bytes("anthropic/request_every_block.json")
    request = to_ir(body, {"anthropic-version": "2023-06-01", "x-api-key": "sk-client", "content-type": "application/json"})
    assert request.passthrough_headers == {"anthropic-version": "2023-06-01"}
    assert request.native is not UNSET
    assert request.native.protocol == "anthropic"
    assert {k: msgspec.json.decode(v) for k, v in request.native.fields.items()} == msgspec.json.decode(body)


def test_claude_code_request() -> None:
    headers = {
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14",
        "x-api-key": "sk-ant-client-key",
        "x-app": "cli",
        "user-agent": "claude-cli/2.0.14 (external, cli)",
    }
    request = to_ir(fixture_bytes("anthropic/request_claude_code.json"), headers)
    assert request.passthrough_headers == {
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14",
    }
    assert (request.model, request.max_tokens, request.stream, request.temperature) == (
        "claude-sonnet-4-5-20250929",
        32000,
        True,
        1.0,
    )
    assert request.reasoning == Reasoning(budget_tokens=31999)
    assert request.user is not UNSET and request.user.startswith("user_")
    assert request.system is not UNSET and request.system[0] == TextBlock(
        text="You are Claude Code, Anthropic's official CLI for Claude."
    )
    assert request.tools is not UNSET
    assert [t.name for t in request.tools if isinstance(t, Tool)] == [
        "Task", "Bash", "Glob", "Grep", "Read", "Edit", "Write", "TodoWrite", "WebFetch",
    ]  # fmt: skip
    assert [m.role for m in request.messages] == ["user", "assistant", "user", "assistant", "user"]
    second = request.messages[3].content
    assert isinstance(second[0], ThinkingBlock) and second[0].signature is not UNSET
    assert [b.name for b in second if isinstance(b, ToolUseBlock)] == ["Bash", "Grep"]
    assert msgspec.json.decode(second[1].input) == {"command": "pytest -q tests/test_math.py", "description": "Run the failing test"}  # type: ignore[union-attr]
    results = request.messages[4].content
    assert [(r.tool_use_id, r.is_error) for r in results if isinstance(r, ToolResultBlock)] == [
        ("toolu_01Bq7nAzRnwDAqJtzKJBn1Nv", True),
        ("toolu_01JqPv8d3TdAaqTTEZvTGhPb", UNSET),
    ]


def test_count_tokens_body_needs_no_max_tokens() -> None:
    body = {"model": "claude-sonnet-4-5", "messages": HI, "system": "S", "tools": [{"name": "f", "input_schema": {"type": "object"}}]}
    request = count_tokens_to_ir(msgspec.json.encode(body), {"anthropic-beta": "token-counting-2024-11-01"})
    assert request.max_tokens is UNSET
    assert request.system == [TextBlock(text="S")]
    assert request.passthrough_headers == {"anthropic-beta": "token-counting-2024-11-01"}


# --- bad inputs -------------------------------------------------------------------------

BAD_CASES = [
    ("malformed_json", b'{"model": "m",', "The request body is not valid JSON: ", None),
    ("not_an_object", b'[{"model": "m"}]', "The request body must be a JSON object.", None),
    ("missing_model", {"max_tokens": 1, "messages": HI}, "model: Field required", "model"),
    ("missing_messages", {"model": "m", "max_tokens": 1}, "messages: Field required", "messages"),
    ("missing_max_tokens", {"model": "m", "messages": HI}, "max_tokens: Field required", "max_tokens"),
    ("model_not_a_string", {**BASE, "model": 7, "messages": HI}, "model: Expected `str`, got `int`", "model"),
    ("max_tokens_not_int", {**BASE, "max_tokens": "many", "messages": HI}, "max_tokens: Expected `int`, got `str`", "max_tokens"),
    ("temperature_not_number", {**BASE, "messages": HI, "temperature": "hot"}, "temperature: Expected `float | null`, got `str`", "temperature"),
    ("messages_not_array", {**BASE, "messages": "Hi"}, "messages: Expected `array`, got `str`", "messages"),
    ("bad_role", {**BASE, "messages": [{"role": "robot", "content": "Hi"}]}, "messages.0.role: Invalid enum value 'robot'", "messages.0.role"),
    ("missing_content", {**BASE, "messages": [{"role": "user"}]}, "messages.0.content: Field required", "messages.0.content"),
    ("text_without_text", user_blocks({"type": "text"}), "messages.0.content.0.text: Field required", "messages.0.content.0.text"),
    ("block_not_object", user_blocks("Hi"), "messages.0.content.0: Expected `object`, got `str`", "messages.0.content.0"),  # type: ignore[arg-type]
    ("block_without_type", user_blocks({"text": "Hi"}), "messages.0.content.0.type: Field required", "messages.0.content.0.type"),
    (
        "tool_use_without_id",
        user_blocks({"type": "tool_use", "name": "f", "input": {}}),
        "messages.0.content.0.id: Field required",
        "messages.0.content.0.id",
    ),
    (
        "nested_text_not_string",
        user_blocks({"type": "tool_result", "tool_use_id": "t", "content": [{"type": "text", "text": 5}]}),
        "messages.0.content.0.content.0.text: Expected `str`, got `int`",
        "messages.0.content.0.content.0.text",
    ),
    (
        "error_found_after_an_opaque_block",
        user_blocks(DOC, {"type": "thinking"}),
        "messages.0.content.1.thinking: Field required",
        "messages.0.content.1.thinking",
    ),
    ("tools_not_array", {**BASE, "messages": HI, "tools": {"name": "f"}}, "tools: Expected `array`, got `object`", "tools"),
    ("tool_without_schema", {**BASE, "messages": HI, "tools": [{"name": "f"}]}, "tools.0.input_schema: Field required", "tools.0.input_schema"),
    ("tool_without_name", {**BASE, "messages": HI, "tools": [{"input_schema": {}}]}, "tools.0.name: Field required", "tools.0.name"),
    ("tool_choice_tool_without_name", {**BASE, "messages": HI, "tool_choice": {"type": "tool"}}, "tool_choice.name: Field required", "tool_choice.name"),
    ("thinking_without_budget", {**BASE, "messages": HI, "thinking": {"type": "enabled"}}, "thinking.budget_tokens: Field required", "thinking.budget_tokens"),
    (
        "system_message_with_image",
        {**BASE, "messages": [{"role": "system", "content": [{"type": "image", "source": {"type": "url", "url": "u"}}]}]},
        "messages.0.content.0: system messages may only contain text blocks",
        "messages.0.content.0",
    ),
]


@pytest.mark.parametrize(("body", "message", "param"), [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES])
def test_bad_input_is_an_invalid_request_naming_the_field(body: Any, message: str, param: str | None) -> None:
    raw_body = body if isinstance(body, bytes) else msgspec.json.encode(body)
    with pytest.raises(GatewayError) as caught:
        to_ir(raw_body, {})
    assert caught.value.kind is ErrorKind.INVALID_REQUEST
    assert caught.value.message.startswith(message)
    assert caught.value.param == param


def test_missing_max_tokens_words_it_like_anthropic() -> None:
    expected = msgspec.json.decode(fixture_bytes("anthropic/error_400_missing_max_tokens.json"))["error"]["message"]
    with pytest.raises(GatewayError) as caught:
        to_ir(msgspec.json.encode({"model": "m", "messages": HI}), {})
    assert caught.value.message == expected
