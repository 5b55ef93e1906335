"""Translated path: an IR made from another protocol (an Anthropic client) -> OpenAI JSON."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import msgspec
import pytest
from msgspec import Raw

from adapters.inbound.anthropic.decode import to_ir as anthropic_to_ir
from adapters.inbound.openai.decode import to_ir
from adapters.outbound.openai import request as request_module
from adapters.outbound.openai.request import USER_MAX_LENGTH, build_body
from adapters.outbound.openai.settings import OpenAISettings
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

SETTINGS = OpenAISettings(name="openai", base_url="https://api.openai.com/v1")
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
CALL_1 = "toolu_01zWIYCwLijOQw2BCP2lrnSz"
CALL_2 = "toolu_01Zxed9IEFJ7UPJYcPSr0805"
WEATHER_SCHEMA = b'{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}'


class FakeLog:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def info(self, event: str, **fields: Any) -> None:
        self.events.append((event, fields))


@pytest.fixture
def fake_log(monkeypatch: pytest.MonkeyPatch) -> FakeLog:
    log = FakeLog()
    monkeypatch.setattr(request_module, "log", log)
    return log


def built(
    request: ChatRequest, settings: OpenAISettings = SETTINGS, model: str = "gpt-4o"
) -> dict[str, Any]:
    return msgspec.json.decode(build_body(request, model, settings))


def chat(*messages: Message, **params: Any) -> ChatRequest:
    return ChatRequest(model="claude-sonnet-4-5", messages=list(messages), **params)


def user(*blocks: Any) -> Message:
    return Message(role="user", content=list(blocks))


def assistant(*blocks: Any) -> Message:
    return Message(role="assistant", content=list(blocks))


def anthropic_agent_request() -> ChatRequest:
    """What an Anthropic client's agent loop sends, as the Anthropic frontdoor decodes it."""
    return ChatRequest(
        model="claude-sonnet-4-5",
        system=[TextBlock(text="You are a coding agent."), TextBlock(text="Project rules: be brief.")],
        messages=[
            user(
                TextBlock(text="What is in this screenshot? Then check Paris and Tokyo."),
                ImageBlock(data=PNG, media_type="image/png"),
                ImageBlock(url="https://example.com/diagram.jpg"),
            ),
            assistant(
                ThinkingBlock(thinking="Two lookups, in parallel.", signature="EqQBCgIYAhIM"),
                TextBlock(text="Let me check both cities."),
                ToolUseBlock(id=CALL_1, name="get_weather", input=Raw(b'{"city":"Paris"}')),
                ToolUseBlock(id=CALL_2, name="get_time", input=Raw(b'{"city": "Tokyo"}')),
            ),
            user(
                ToolResultBlock(
                    tool_use_id=CALL_1,
                    content=[
                        TextBlock(text="Sunny, 18°C"),
                        ImageBlock(data="/9j/4AAQ", media_type="image/jpeg"),
                    ],
                ),
                ToolResultBlock(
                    tool_use_id=CALL_2,
                    content=[TextBlock(text="timezone service unreachable")],
                    is_error=True,
                ),
                TextBlock(text="Also describe the radar image."),
            ),
            assistant(RedactedThinkingBlock(data="EmwKAhgBEgy3va"), TextBlock(text="Paris is sunny.")),
            user(TextBlock(text="Thanks")),
        ],
        max_tokens=2048,
        temperature=1.0,
        top_k=40,
        stop=["\n\nHuman:"],
        stream=True,
        user="user_abc",
        tools=[
            Tool(name="get_weather", description="Weather for a city.", input_schema=Raw(WEATHER_SCHEMA)),
            Tool(name="get_time", input_schema=Raw(WEATHER_SCHEMA)),
        ],
        tool_choice=ToolChoice(mode="any"),
        parallel_tool_calls=True,
        reasoning=Reasoning(budget_tokens=8000),
    )


def test_anthropic_agent_request_becomes_the_exact_openai_body(fake_log: FakeLog) -> None:
    weather_schema = msgspec.json.decode(WEATHER_SCHEMA)
    assert built(anthropic_agent_request()) == {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "You are a coding agent.\n\nProject rules: be brief."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this screenshot? Then check Paris and Tokyo."},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/diagram.jpg"}},
                ],
            },
            {
                "role": "assistant",
                "content": "Let me check both cities.",
                "tool_calls": [
                    {
                        "id": CALL_1,
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    },
                    {
                        "id": CALL_2,
                        "type": "function",
                        "function": {"name": "get_time", "arguments": '{"city": "Tokyo"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": CALL_1, "content": "Sunny, 18°C"},
            {
                "role": "tool",
                "tool_call_id": CALL_2,
                "content": "Error: timezone service unreachable",
            },
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}},
                    {"type": "text", "text": "Also describe the radar image."},
                ],
            },
            {"role": "assistant", "content": "Paris is sunny."},
            {"role": "user", "content": "Thanks"},
        ],
        "max_completion_tokens": 2048,
        "temperature": 1.0,
        "stop": ["\n\nHuman:"],
        "stream": True,
        "stream_options": {"include_usage": True},
        "user": "user_abc",
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Weather for a city.",
                    "parameters": weather_schema,
                },
            },
            {"type": "function", "function": {"name": "get_time", "parameters": weather_schema}},
        ],
        "tool_choice": "required",
        "parallel_tool_calls": True,
        "reasoning_effort": "medium",
    }
    dropped = {"params": ["top_k"], "target": "openai", "provider": "openai"}
    assert fake_log.events == [("request.param_dropped", dropped)]


def test_thinking_is_never_sent_as_text() -> None:
    body = build_body(anthropic_agent_request(), "gpt-4o", SETTINGS)
    assert b"Two lookups" not in body and b"EqQBCgIYAhIM" not in body and b"EmwKAhgBEgy3va" not in body


def test_no_log_line_when_nothing_is_dropped(fake_log: FakeLog) -> None:
    built(chat(user(TextBlock(text="Hi"))))
    assert fake_log.events == []


@pytest.mark.parametrize(
    ("request_", "refused_kind"),
    [
        pytest.param(
            chat(user(OpaqueBlock(protocol="anthropic", kind="document", data=Raw(b'{"type":"document"}')))),
            "'document' content blocks",
            id="document",
        ),
        pytest.param(
            chat(
                user(
                    ToolResultBlock(
                        tool_use_id="t",
                        content=[OpaqueBlock(protocol="anthropic", kind="search_result", data=Raw(b"{}"))],
                    )
                )
            ),
            "'search_result' content blocks",
            id="opaque-inside-tool-result",
        ),
        pytest.param(
            chat(
                user(TextBlock(text="Hi")),
                assistant(OpaqueBlock(protocol="anthropic", kind="server_tool_use", data=Raw(b"{}"))),
            ),
            "'server_tool_use' content blocks",
            id="server-tool-use-in-history",
        ),
        pytest.param(
            chat(
                user(TextBlock(text="Hi")),
                tools=[OpaqueTool(protocol="anthropic", kind="web_search_20250305", data=Raw(b"{}"))],
            ),
            "'web_search_20250305' tools",
            id="server-tool",
        ),
    ],
)
def test_blocks_and_tools_of_another_protocol_are_refused(request_: ChatRequest, refused_kind: str) -> None:
    with pytest.raises(GatewayError) as caught:
        build_body(request_, "gpt-4o", SETTINGS)
    assert caught.value.kind is ErrorKind.INVALID_REQUEST
    assert caught.value.message == f"{refused_kind} cannot be sent to an OpenAI-protocol provider."


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({}, {}, id="nothing-absent-is-sent"),
        pytest.param({"max_tokens": 100}, {"max_completion_tokens": 100}, id="max-tokens-default-field"),
        pytest.param({"reasoning": Reasoning(effort="high")}, {"reasoning_effort": "high"}, id="effort-kept"),
        pytest.param({"reasoning": Reasoning(budget_tokens=1024)}, {"reasoning_effort": "low"}, id="1k"),
        pytest.param({"reasoning": Reasoning(budget_tokens=32000)}, {"reasoning_effort": "high"}, id="32k"),
        pytest.param({"reasoning": Reasoning(enabled=False, budget_tokens=4096)}, {}, id="disabled-omitted"),
        pytest.param(
            {"tool_choice": ToolChoice(mode="auto"), "parallel_tool_calls": False}, {}, id="no-tools"
        ),
        pytest.param({"include_usage": False}, {}, id="include-usage-only-when-streaming"),
        pytest.param(
            {
                "response_format": Raw(b'{"type":"json_object"}'),
                "n": 2,
                "presence_penalty": 0.1,
                "frequency_penalty": 0.2,
                "seed": 7,
                "logprobs": True,
                "top_logprobs": 2,
                "top_p": 0.5,
            },
            {
                "response_format": {"type": "json_object"},
                "n": 2,
                "presence_penalty": 0.1,
                "frequency_penalty": 0.2,
                "seed": 7,
                "logprobs": True,
                "top_logprobs": 2,
                "top_p": 0.5,
            },
            id="openai-only-parameters",
        ),
    ],
)
def test_parameters(params: dict[str, Any], expected: dict[str, Any]) -> None:
    body = built(chat(user(TextBlock(text="Hi")), **params))
    assert body == {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}], **expected}


def test_max_tokens_field_follows_the_provider_settings() -> None:
    legacy = OpenAISettings(name="vllm", base_url="http://127.0.0.1:8000/v1", max_tokens_field="max_tokens")
    body = built(chat(user(TextBlock(text="Hi")), max_tokens=64), legacy)
    assert body["max_tokens"] == 64 and "max_completion_tokens" not in body


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        pytest.param(ToolChoice(mode="auto"), "auto", id="auto"),
        pytest.param(ToolChoice(mode="any"), "required", id="any"),
        pytest.param(ToolChoice(mode="none"), "none", id="none"),
        pytest.param(
            ToolChoice(mode="tool", name="get_weather"),
            {"type": "function", "function": {"name": "get_weather"}},
            id="named",
        ),
    ],
)
def test_tool_choice(choice: ToolChoice, wire: Any) -> None:
    tools = [Tool(name="get_weather", strict=True)]
    request = chat(user(TextBlock(text="Hi")), tools=tools, tool_choice=choice)
    body = built(request)
    assert body["tool_choice"] == wire
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {}},
                "strict": True,
            },
        }
    ]


def test_tool_result_with_only_an_image_sends_an_empty_tool_message_then_the_image() -> None:
    shot = "https://x.test/s.png"
    request = chat(
        user(TextBlock(text="Screenshot please")),
        assistant(ToolUseBlock(id="toolu_1", name="screenshot", input=Raw(b"{}"))),
        user(ToolResultBlock(tool_use_id="toolu_1", content=[ImageBlock(url=shot, detail="low")])),
    )
    assert built(request)["messages"][1:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "toolu_1", "type": "function", "function": {"name": "screenshot", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_1", "content": ""},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": shot, "detail": "low"}}]},
    ]


def test_openai_request_without_native_fields_rebuilds_an_equivalent_body() -> None:
    """An IR decoded from an OpenAI body, built without its native fields: opaque parts and tools
    go back raw, system and developer messages come back as one system message."""
    decoded = to_ir(fixture_bytes("openai/request_vision_audio_file.json"))
    request = msgspec.structs.replace(decoded, native=msgspec.UNSET)
    original = msgspec.json.decode(fixture_bytes("openai/request_vision_audio_file.json"))
    body = built(request, model="gpt-4o")

    changed = ("max_tokens", "stop", "reasoning_effort")
    expected = {key: value for key, value in original.items() if key not in changed}
    expected["messages"] = [{"role": "user", "content": original["messages"][0]["content"]}]
    expected |= {"max_completion_tokens": 300, "stop": ["\n\n###"], "reasoning_effort": "low"}
    assert body == expected


def _user_sent(user_id: str) -> str:
    body = {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "Hi"}],
            "metadata": {"user_id": user_id}}  # fmt: skip
    request = anthropic_to_ir(msgspec.json.encode(body), {})
    return msgspec.json.decode(build_body(request, "gpt-5-mini", SETTINGS))["user"]


def test_a_user_id_longer_than_openai_accepts_is_sent_as_its_digest() -> None:
    """Claude Code's ``metadata.user_id`` is over 100 characters; OpenAI refuses a ``user``
    beyond 64, which would make every Claude Code request routed to OpenAI a 400."""
    user_id = json.loads(fixture_bytes("anthropic/request_claude_code.json"))["metadata"]["user_id"]
    assert len(user_id) > USER_MAX_LENGTH
    sent = _user_sent(user_id)
    assert sent == hashlib.sha256(user_id.encode()).hexdigest()
    assert len(sent) == USER_MAX_LENGTH
    assert _user_sent(user_id) == sent  # stable: the same user keeps the same id


def test_a_user_id_openai_accepts_is_sent_as_is() -> None:
    assert _user_sent("3f1e4c2a-user-hash") == "3f1e4c2a-user-hash"
    assert _user_sent("u" * USER_MAX_LENGTH) == "u" * USER_MAX_LENGTH
