"""Responses client body -> IR: every mapping of ``parse`` and ``to_ir``."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET
from structlog.testing import capture_logs

from adapters.inbound.openai_responses.decode import to_ir
from domain.ir import (
    ChatRequest,
    ImageBlock,
    Message,
    OpaqueBlock,
    Reasoning,
    TextBlock,
    ToolChoice,
    ToolResultBlock,
    ToolUseBlock,
)
from tests.unit.adapters.inbound.openai_responses.support import as_builtins, call_of, fixture_call


def decode(input: Any = "Hi", **params: Any) -> ChatRequest:
    return to_ir(call_of(input=input, **params))


def user(*texts: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "input_text", "text": t} for t in texts]}


# --- recorded requests --------------------------------------------------------------------------


def test_codex_request_maps_history_tools_and_reasoning() -> None:
    call = fixture_call("request_codex.json")
    request = to_ir(call)

    assert call.stream is True and call.store is False
    assert request.model == "gpt-5-codex"
    assert request.system is not UNSET
    assert request.system[0].text.startswith("You are Codex")  # instructions first
    assert request.system[1].text.startswith("<permissions instructions>")  # then the developer message
    assert [m.role for m in request.messages] == ["user", "assistant", "user"]
    first, turn, results = request.messages
    context, prompt = (b.text for b in first.content)  # type: ignore[union-attr]
    assert context.startswith("<environment_context>\n  <cwd>/home/dev/repo</cwd>")
    assert context.endswith("<shell>bash</shell>\n</environment_context>")
    assert prompt == "List the files in this repo, then fix the typo in README.md"
    # OpenAI's own encrypted reasoning: only its readable summary, unsigned (no provider replays it)
    thinking, call_block = turn.content
    assert thinking.thinking.startswith("**Listing repository files**")  # type: ignore[union-attr]
    assert thinking.signature is UNSET  # type: ignore[union-attr]
    assert isinstance(call_block, ToolUseBlock)
    assert (call_block.id, call_block.name) == ("call_Qm2YvXG1nqkUeFsyEXr6bZxl", "shell_command")
    assert as_builtins(call_block.input) == {"command": "ls -la", "workdir": "/home/dev/repo"}
    assert results.content == [
        ToolResultBlock(
            tool_use_id="call_Qm2YvXG1nqkUeFsyEXr6bZxl",
            content=[
                TextBlock(
                    text="Exit code: 0\nWall time: 0.1 seconds\nOutput:\ntotal 16\n"
                    "-rw-r--r--  1 dev dev  812 README.md\ndrwxr-xr-x  4 dev dev 4096 src\n"
                )
            ],
        )
    ]
    assert [t.name for t in request.tools or ()] == ["shell_command", "update_plan", "apply_patch"]
    assert all(t.strict is False for t in request.tools[:2])  # type: ignore[index]
    assert request.tool_choice == ToolChoice(mode="auto")
    assert request.parallel_tool_calls is False
    assert request.reasoning == Reasoning(effort="medium")
    assert call.custom_tools == frozenset({"apply_patch"})


def test_codex_web_search_namespace_and_verbosity_are_dropped_and_logged() -> None:
    with capture_logs() as logs:
        fixture_call("request_codex.json")

    dropped = [entry for entry in logs if entry["event"] == "request.param_dropped"]
    assert dropped == [
        {
            "event": "request.param_dropped",
            "log_level": "info",
            "params": ["tools[3]:web_search", "tools[4]:namespace", "text.verbosity"],
            "protocol": "openai_responses",
        }
    ]


def test_agents_sdk_turn_with_a_tool_result_maps_every_item() -> None:
    request = to_ir(fixture_call("request_agents_sdk.json"))

    assert request.system == [TextBlock(text="You are a helpful weather agent. Use the tools.")]
    assert request.messages[0] == Message(
        role="user", content=[TextBlock(text="What's the weather in Tokyo?")]
    )
    call = request.messages[1].content[0]
    assert isinstance(call, ToolUseBlock) and call.id == "toolu_01A09q90qw90lq917835lq9"
    assert request.messages[2].content == [
        ToolResultBlock(tool_use_id="toolu_01A09q90qw90lq917835lq9", content=[TextBlock(text="Sunny, 22°C")])
    ]
    (tool,) = request.tools or ()
    assert (tool.name, tool.description, tool.strict) == ("get_weather", "Get the weather for a city.", True)  # type: ignore[union-attr]
    assert request.stream is True


def test_sdk_request_with_images_and_a_json_schema() -> None:
    call = fixture_call("request_sdk_image_json_schema.json")
    request = to_ir(call)

    _, inline, linked = request.messages[0].content
    assert inline == ImageBlock(
        data="iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
        media_type="image/png",
        detail="low",
    )
    assert linked == ImageBlock(
        url="https://upload.wikimedia.org/wikipedia/commons/3/3a/Cat03.jpg", detail="auto"
    )
    assert as_builtins(request.response_format) == {
        "type": "json_schema",
        "json_schema": {
            "name": "image_description",
            "schema": {
                "type": "object",
                "properties": {
                    "objects": {"type": "array", "items": {"type": "string"}},
                    "caption": {"type": "string"},
                },
                "required": ["objects", "caption"],
                "additionalProperties": False,
            },
            "description": "What the images show.",
            "strict": True,
        },
    }
    assert (request.max_tokens, request.temperature, request.top_p, request.user) == (
        300,
        0.2,
        0.9,
        "user-1234",
    )
    assert call.store is True and call.stream is False  # the API's defaults


# --- input ----------------------------------------------------------------------------------------


def test_string_input_is_one_user_message() -> None:
    assert decode("Hello there").messages == [Message(role="user", content=[TextBlock(text="Hello there")])]


def test_easy_messages_take_string_content_for_every_role() -> None:
    request = decode(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": "Answer in French."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Bonjour"},
            {"role": "user", "content": "Again"},
        ],
        instructions="You are a bot.",
    )

    assert request.system == [TextBlock(text=t) for t in ("You are a bot.", "Be brief.", "Answer in French.")]
    assert [(m.role, m.content) for m in request.messages] == [
        ("user", [TextBlock(text="Hi")]),
        ("assistant", [TextBlock(text="Bonjour")]),
        ("user", [TextBlock(text="Again")]),
    ]


def test_output_messages_and_refusals_become_assistant_text() -> None:
    request = decode(
        [
            user("Hi"),
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "status": "completed",
                "content": [
                    {"type": "output_text", "text": "Sure.", "annotations": []},
                    {"type": "refusal", "refusal": "But not that."},
                ],
            },
        ]
    )
    assert request.messages[1] == Message(
        role="assistant", content=[TextBlock(text="Sure."), TextBlock(text="But not that.")]
    )


def test_a_turns_items_share_one_message_so_tool_results_follow_their_calls() -> None:
    request = decode(
        [
            user("Weather in Paris and Tokyo?"),
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Checking."}],
            },
            {
                "type": "function_call",
                "call_id": "call_1",
                "name": "weather",
                "arguments": '{"city":"Paris"}',
            },
            {
                "type": "function_call",
                "call_id": "call_2",
                "name": "weather",
                "arguments": '{"city":"Tokyo"}',
            },
            {"type": "function_call_output", "call_id": "call_1", "output": "Rain"},
            {"type": "function_call_output", "call_id": "call_2", "output": "Sun"},
            user("Thanks"),
        ]
    )

    assert [m.role for m in request.messages] == ["user", "assistant", "user"]
    assert [type(b).__name__ for b in request.messages[1].content] == [
        "TextBlock",
        "ToolUseBlock",
        "ToolUseBlock",
    ]
    assert request.messages[2].content == [
        ToolResultBlock(tool_use_id="call_1", content=[TextBlock(text="Rain")]),
        ToolResultBlock(tool_use_id="call_2", content=[TextBlock(text="Sun")]),
        TextBlock(text="Thanks"),
    ]


def test_tool_output_parts_become_result_content() -> None:
    request = decode(
        [
            {"type": "function_call", "call_id": "call_1", "name": "screenshot", "arguments": ""},
            {
                "type": "function_call_output",
                "call_id": "call_1",
                "output": [
                    {"type": "input_text", "text": "Here it is"},
                    {"type": "input_image", "image_url": "data:image/jpeg;base64,/9j/4AAQ", "detail": "high"},
                ],
            },
        ]
    )

    call = request.messages[0].content[0]
    assert isinstance(call, ToolUseBlock) and bytes(call.input) == b"{}"  # "" means no arguments
    assert request.messages[1].content == [
        ToolResultBlock(
            tool_use_id="call_1",
            content=[
                TextBlock(text="Here it is"),
                ImageBlock(data="/9j/4AAQ", media_type="image/jpeg", detail="high"),
            ],
        )
    ]


def test_arguments_that_are_not_an_object_are_kept_as_text() -> None:
    request = decode([{"type": "function_call", "call_id": "c", "name": "f", "arguments": '{"a": 1'}])
    assert as_builtins(request.messages[0].content[0].input) == {"_raw_arguments": '{"a": 1'}  # type: ignore[union-attr]


def test_custom_tool_calls_in_history_become_tool_use_of_their_input() -> None:
    patch = "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch\n"
    request = decode(
        [
            {"type": "custom_tool_call", "call_id": "call_p", "name": "apply_patch", "input": patch},
            {"type": "custom_tool_call_output", "call_id": "call_p", "output": "Done!"},
        ]
    )
    call = request.messages[0].content[0]
    assert isinstance(call, ToolUseBlock) and as_builtins(call.input) == {"input": patch}
    assert request.messages[1].content == [
        ToolResultBlock(tool_use_id="call_p", content=[TextBlock(text="Done!")])
    ]


def test_files_become_chat_completions_file_parts() -> None:
    request = decode(
        [
            {
                "role": "user",
                "content": [
                    {
                        "type": "input_file",
                        "filename": "a.pdf",
                        "file_data": "data:application/pdf;base64,JVBERi0x",
                    },
                    {"type": "input_file", "file_id": "file-abc123"},
                ],
            }
        ]
    )
    blocks = request.messages[0].content
    assert [(b.protocol, b.kind, as_builtins(b.data)) for b in blocks] == [  # type: ignore[union-attr]
        (
            "openai",
            "file",
            {
                "type": "file",
                "file": {"file_data": "data:application/pdf;base64,JVBERi0x", "filename": "a.pdf"},
            },
        ),
        ("openai", "file", {"type": "file", "file": {"file_id": "file-abc123"}}),
    ]


def test_parts_and_items_the_ir_does_not_model_stay_opaque() -> None:
    search = {
        "type": "web_search_call",
        "id": "ws_1",
        "status": "completed",
        "action": {"type": "search", "query": "x"},
    }
    request = decode(
        [
            {"role": "user", "content": [{"type": "input_file", "file_url": "https://x.test/a.pdf"}]},
            search,
        ]
    )
    part = request.messages[0].content[0]
    assert isinstance(part, OpaqueBlock) and (part.protocol, part.kind) == ("openai_responses", "input_file")
    item = request.messages[1].content[0]
    assert isinstance(item, OpaqueBlock) and (item.protocol, item.kind) == (
        "openai_responses",
        "web_search_call",
    )
    assert request.messages[1].role == "assistant"
    assert msgspec.json.decode(item.data) == search
