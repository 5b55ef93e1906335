"""OpenAI client body -> IR: every mapping of ``adapters.inbound.openai.decode.to_ir``."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from msgspec import UNSET

from adapters.inbound.openai.decode import to_ir
from domain.ir import (
    ChatRequest,
    ImageBlock,
    Message,
    OpaqueBlock,
    OpaqueTool,
    Reasoning,
    TextBlock,
    Tool,
    ToolChoice,
    ToolResultBlock,
    ToolUseBlock,
)
from tests.conftest import fixture_bytes

USER_HI = {"role": "user", "content": "Hi"}


def decode(messages: list[dict[str, Any]] | None = None, **params: Any) -> ChatRequest:
    body = {"model": "gpt-4o-mini", "messages": messages if messages is not None else [USER_HI], **params}
    return to_ir(msgspec.json.encode(body))


def as_builtins(value: Any) -> Any:
    """IR values as plain data, Raw JSON included, for readable equality."""
    return msgspec.json.decode(msgspec.json.encode(value))


# --- recorded conversations ----------------------------------------------------------------------


def test_tool_history_conversation_maps_every_turn() -> None:
    request = to_ir(fixture_bytes("openai/request_tool_history.json"))

    assert request.model == "gpt-4o-mini"
    assert request.system == [
        TextBlock(text="You are a travel assistant. Use the tools."),
        TextBlock(text="Answer in one line."),
    ]
    roles = [message.role for message in request.messages]
    assert roles == ["user", "assistant", "user", "assistant", "user"]
    calls = request.messages[1].content
    assert [(c.id, c.name) for c in calls if isinstance(c, ToolUseBlock)] == [
        ("call_aMjReB6JW2Ik6vrDQcU7pOKp", "get_weather"),
        ("call_eEyGjYbpXHUTOFVaunImkAqZ", "get_time"),
    ]
    assert as_builtins(calls[0].input) == {  # type: ignore[union-attr]
        "city": "Paris",
        "unit": "celsius",
        "days": 3,
        "details": {"hourly": True, "fields": ["temp", "wind"], "note": 'naïve "quoted"'},
    }
    assert request.messages[2] == Message(
        role="user",
        content=[
            ToolResultBlock(
                tool_use_id="call_aMjReB6JW2Ik6vrDQcU7pOKp",
                content=[TextBlock(text="Sunny, 18°C, wind 10 km/h")],
            ),
            ToolResultBlock(
                tool_use_id="call_eEyGjYbpXHUTOFVaunImkAqZ",
                content=[TextBlock(text="21:04"), TextBlock(text="JST")],
            ),
        ],
    )
    assert request.messages[3].content == [TextBlock(text="Paris: sunny, 18°C. Tokyo: 21:04.")]
    assert request.messages[4].content == [TextBlock(text="Thanks! And tomorrow?")]
    assert request.max_tokens == 512
    assert request.temperature == 0.2
    assert request.stream is True
    assert request.include_usage is False
    assert request.tool_choice == ToolChoice(mode="auto")
    assert request.parallel_tool_calls is True
    weather, time = request.tools  # type: ignore[misc]
    assert isinstance(weather, Tool) and isinstance(time, Tool)
    assert (weather.name, weather.description, weather.strict) == (
        "get_weather",
        "Get the weather forecast for a city.",
        True,
    )
    assert as_builtins(weather.input_schema)["required"] == ["city"]
    assert (time.description, time.strict) == (UNSET, UNSET)


def test_vision_audio_and_file_parts_map_to_images_and_opaque_blocks() -> None:
    request = to_ir(fixture_bytes("openai/request_vision_audio_file.json"))

    original = msgspec.json.decode(fixture_bytes("openai/request_vision_audio_file.json"))
    parts = original["messages"][0]["content"]
    text, inline, linked, audio, file = request.messages[0].content
    assert text == TextBlock(text=parts[0]["text"])
    png = parts[1]["image_url"]["url"].removeprefix("data:image/png;base64,")
    assert inline == ImageBlock(data=png, media_type="image/png", detail="high")
    assert linked == ImageBlock(url=parts[2]["image_url"]["url"])
    assert isinstance(audio, OpaqueBlock) and (audio.protocol, audio.kind) == ("openai", "input_audio")
    assert as_builtins(audio.data) == parts[3]
    assert isinstance(file, OpaqueBlock) and file.kind == "file"
    assert as_builtins(file.data)["file"]["filename"] == "notes.pdf"
    assert request.max_tokens == 300
    assert request.stop == ["\n\n###"]
    assert request.user == "user-1234"
    assert as_builtins(request.response_format)["json_schema"]["name"] == "summary"
    assert request.reasoning == Reasoning(effort="low")
    assert (request.seed, request.n, request.logprobs, request.top_logprobs) == (42, 2, True, 3)
    assert (request.presence_penalty, request.frequency_penalty, request.top_p) == (0.5, -0.25, 0.9)
    assert request.stream is False and request.include_usage is UNSET


def test_native_fields_hold_the_body_top_level_fields_undecoded() -> None:
    body = fixture_bytes("openai/request_unknown_fields.json")
    request = to_ir(body)

    assert request.native is not UNSET
    assert request.native.protocol == "openai"
    assert {key: as_builtins(raw) for key, raw in request.native.fields.items()} == msgspec.json.decode(body)


# --- system and developer messages ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("messages", "system", "kept"),
    [
        pytest.param(
            [{"role": "system", "content": "S"}, USER_HI], [TextBlock(text="S")], 1, id="string"
        ),
        pytest.param(
            [
                {"role": "developer", "content": [{"type": "text", "text": t} for t in ("D1", "D2")]},
                USER_HI,
            ],
            [TextBlock(text="D1"), TextBlock(text="D2")],
            1,
            id="developer-parts",
        ),
        pytest.param(
            [
                {"role": "system", "content": "A"},
                USER_HI,
                {"role": "assistant", "content": "Hello"},
                {"role": "developer", "content": "B"},
                {"role": "user", "content": "Again"},
                {"role": "system", "content": "C"},
            ],
            [TextBlock(text="A"), TextBlock(text="B"), TextBlock(text="C")],
            3,
            id="several-anywhere-in-order",
        ),
        pytest.param([{"role": "system", "content": ""}, USER_HI], UNSET, 1, id="empty-skipped"),
        pytest.param([USER_HI], UNSET, 1, id="absent"),
    ],
)
def test_system_and_developer_messages_merge_into_system(
    messages: list[dict[str, Any]], system: Any, kept: int
) -> None:
    request = decode(messages)
    assert request.system == system
    assert len(request.messages) == kept


# --- user content --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("part", "block"),
    [
        pytest.param({"type": "text", "text": "hello"}, TextBlock(text="hello"), id="text"),
        pytest.param(
            {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}},
            ImageBlock(data="/9j/4AAQ", media_type="image/jpeg"),
            id="data-url",
        ),
        pytest.param(
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}},
            ImageBlock(url="https://example.com/cat.png", detail="low"),
            id="http-url-with-detail",
        ),
        pytest.param(
            {"type": "image_url", "image_url": {"url": "data:image/svg+xml,%3Csvg%3E"}},
            ImageBlock(url="data:image/svg+xml,%3Csvg%3E"),
            id="non-base64-data-url-kept-as-url",
        ),
    ],
)
def test_user_parts_map_to_blocks(part: dict[str, Any], block: Any) -> None:
    request = decode([{"role": "user", "content": [part]}])
    assert request.messages == [Message(role="user", content=[block])]


def test_unknown_user_part_type_stays_opaque_byte_for_byte() -> None:
    raw = b'{"type":"video_url","video_url":{"url":"https://v.example/x.mp4"},"x":[1, 2]}'
    body = b'{"model":"m","messages":[{"role":"user","content":[' + raw + b"]}]}"
    (block,) = to_ir(body).messages[0].content
    assert isinstance(block, OpaqueBlock)
    assert (block.protocol, block.kind, bytes(block.data)) == ("openai", "video_url", raw)


# --- assistant content ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("assistant", "blocks"),
    [
        pytest.param({"content": "Sure."}, [TextBlock(text="Sure.")], id="string"),
        pytest.param(
            {
                "content": [
                    {"type": "text", "text": "Part 1. "},
                    {"type": "refusal", "refusal": "I can't do part 2."},
                ]
            },
            [TextBlock(text="Part 1. "), TextBlock(text="I can't do part 2.")],
            id="text-and-refusal-parts",
        ),
        pytest.param(
            {"content": None, "refusal": "I can't help with that."},
            [TextBlock(text="I can't help with that.")],
            id="refusal-field",
        ),
        pytest.param(
            {
                "content": "",
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "a", "arguments": '{"x": 1}'}},
                    {"id": "call_2", "type": "function", "function": {"name": "b", "arguments": ""}},
                ],
            },
            [
                ToolUseBlock(id="call_1", name="a", input=msgspec.Raw(b'{"x": 1}')),
                ToolUseBlock(id="call_2", name="b", input=msgspec.Raw(b"{}")),
            ],
            id="empty-text-then-tool-calls-empty-arguments-mean-empty-object",
        ),
        pytest.param(
            {
                "content": "Checking.",
                "tool_calls": [{"id": "c", "type": "function", "function": {"name": "a", "arguments": "{}"}}],
            },
            [TextBlock(text="Checking."), ToolUseBlock(id="c", name="a", input=msgspec.Raw(b"{}"))],
            id="text-before-tool-calls",
        ),
    ],
)
def test_assistant_messages_map_to_text_then_tool_use(assistant: dict[str, Any], blocks: list[Any]) -> None:
    request = decode([USER_HI, {"role": "assistant", **assistant}])
    assert as_builtins(request.messages[1].content) == as_builtins(blocks)


def test_custom_tool_call_stays_opaque() -> None:
    call = {"id": "call_c", "type": "custom", "custom": {"name": "grep", "input": "foo"}}
    request = decode([USER_HI, {"role": "assistant", "content": None, "tool_calls": [call]}])
    (block,) = request.messages[1].content
    assert isinstance(block, OpaqueBlock) and block.kind == "custom_tool_call"
    assert as_builtins(block.data) == call


# --- tool messages -------------------------------------------------------------------------------


def test_consecutive_tool_messages_share_one_user_message_and_a_break_starts_another() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    messages = [
        USER_HI,
        {"role": "assistant", "content": None, "tool_calls": [call, {**call, "id": "c2"}]},
        {"role": "tool", "tool_call_id": "c1", "content": "one"},
        {"role": "tool", "tool_call_id": "c2", "content": ""},
        {"role": "assistant", "content": None, "tool_calls": [{**call, "id": "c3"}]},
        {"role": "tool", "tool_call_id": "c3", "content": "three"},
        {"role": "user", "content": "next"},
    ]
    request = decode(messages)
    assert [m.role for m in request.messages] == ["user", "assistant", "user", "assistant", "user", "user"]
    assert request.messages[2].content == [
        ToolResultBlock(tool_use_id="c1", content=[TextBlock(text="one")]),
        ToolResultBlock(tool_use_id="c2", content=[]),
    ]
    assert request.messages[4].content == [
        ToolResultBlock(tool_use_id="c3", content=[TextBlock(text="three")])
    ]


# --- parameters ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field", "value"),
    [
        pytest.param({"max_tokens": 10}, "max_tokens", 10, id="max_tokens"),
        pytest.param({"max_completion_tokens": 20}, "max_tokens", 20, id="max_completion_tokens"),
        pytest.param({"max_tokens": 10, "max_completion_tokens": 20}, "max_tokens", 20, id="completion-wins"),
        pytest.param({"max_tokens": 10, "max_completion_tokens": None}, "max_tokens", 10, id="null-loses"),
        pytest.param({"temperature": 1}, "temperature", 1.0, id="temperature-int"),
        pytest.param({"temperature": None}, "temperature", UNSET, id="null-is-absent"),
        pytest.param({"stop": "END"}, "stop", ["END"], id="stop-string"),
        pytest.param({"stop": ["a", "b"]}, "stop", ["a", "b"], id="stop-list"),
        pytest.param({"stop": None}, "stop", UNSET, id="stop-null"),
        pytest.param({"stream": True}, "stream", True, id="stream"),
        pytest.param({"stream": None}, "stream", False, id="stream-null"),
        pytest.param(
            {"stream": True, "stream_options": {"include_usage": True}}, "include_usage", True, id="usage"
        ),
        pytest.param({"stream_options": None}, "include_usage", UNSET, id="stream_options-null"),
        pytest.param({"user": "u1", "safety_identifier": "s1"}, "user", "u1", id="user"),
        pytest.param({"safety_identifier": "s1"}, "user", "s1", id="safety_identifier-when-no-user"),
        pytest.param({"tool_choice": "auto"}, "tool_choice", ToolChoice(mode="auto"), id="choice-auto"),
        pytest.param({"tool_choice": "required"}, "tool_choice", ToolChoice(mode="any"), id="choice-req"),
        pytest.param({"tool_choice": "none"}, "tool_choice", ToolChoice(mode="none"), id="choice-none"),
        pytest.param(
            {"tool_choice": {"type": "function", "function": {"name": "get_weather"}}},
            "tool_choice",
            ToolChoice(mode="tool", name="get_weather"),
            id="choice-named",
        ),
        pytest.param(
            {"tool_choice": {"type": "allowed_tools", "allowed_tools": {"mode": "required", "tools": []}}},
            "tool_choice",
            ToolChoice(mode="any"),
            id="choice-allowed-tools",
        ),
        pytest.param({"parallel_tool_calls": False}, "parallel_tool_calls", False, id="parallel_tool_calls"),
        pytest.param({"reasoning_effort": "high"}, "reasoning", Reasoning(effort="high"), id="effort"),
        pytest.param({"reasoning_effort": "none"}, "reasoning", Reasoning(enabled=False), id="effort-none"),
        pytest.param({"response_format": None}, "response_format", UNSET, id="response_format-null"),
        pytest.param({"n": 3}, "n", 3, id="n"),
        pytest.param({"seed": -1}, "seed", -1, id="seed"),
        pytest.param({"metadata": {"a": "b"}, "store": True}, "top_k", UNSET, id="others-only-native"),
    ],
)
def test_parameters_map_to_ir_fields(params: dict[str, Any], field: str, value: Any) -> None:
    assert getattr(decode(**params), field) == value


def test_response_format_is_kept_raw() -> None:
    raw = b'{"type":"json_object"}'
    request = to_ir(b'{"model":"m","messages":[],"response_format":' + raw + b"}")
    assert bytes(request.response_format) == raw  # type: ignore[arg-type]


def test_tools_map_function_tools_and_keep_other_types_opaque() -> None:
    custom = {"type": "custom", "custom": {"name": "sql", "format": {"type": "grammar"}}}
    request = decode(
        tools=[
            {"type": "function", "function": {"name": "f", "description": "Do f.", "strict": None}},
            custom,
        ]
    )
    function, opaque = request.tools  # type: ignore[misc]
    assert function == Tool(name="f", description="Do f.")
    assert bytes(function.input_schema) == b'{"type":"object","properties":{}}'  # the IR default
    assert isinstance(opaque, OpaqueTool) and (opaque.protocol, opaque.kind) == ("openai", "custom")
    assert as_builtins(opaque.data) == custom
