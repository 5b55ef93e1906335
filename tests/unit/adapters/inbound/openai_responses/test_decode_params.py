"""Responses request parameters -> IR: tools, tool choice, text format, reasoning, and the rest."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from msgspec import UNSET
from structlog.testing import capture_logs

from adapters.inbound.openai_responses.decode import parse, to_ir
from adapters.inbound.openai_responses.tools import CUSTOM_INPUT_SCHEMA
from domain.ir import (
    ChatRequest,
    Message,
    Reasoning,
    TextBlock,
    Tool,
    ToolChoice,
)
from tests.unit.adapters.inbound.openai_responses.support import as_builtins, call_of


def decode(input: Any = "Hi", **params: Any) -> ChatRequest:
    return to_ir(call_of(input=input, **params))


def user(*texts: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "input_text", "text": t} for t in texts]}


# --- parameters -----------------------------------------------------------------------------------


def test_absent_and_null_parameters_are_not_sent() -> None:
    nulls = {
        name: None
        for name in (
            "instructions",
            "tools",
            "tool_choice",
            "parallel_tool_calls",
            "max_output_tokens",
            "temperature",
            "top_p",
            "reasoning",
            "text",
            "metadata",
            "user",
            "store",
            "stream",
            "previous_response_id",
        )
    }
    assert (
        decode()
        == decode(**nulls)
        == ChatRequest(model="gpt-5", messages=[Message(role="user", content=[TextBlock(text="Hi")])])
    )


def test_safety_identifier_stands_in_for_user() -> None:
    assert decode(safety_identifier="u-1").user == "u-1"
    assert decode(safety_identifier="u-1", user="u-2").user == "u-2"


@pytest.mark.parametrize(
    ("effort", "reasoning"),
    [
        ("none", Reasoning(enabled=False)),
        ("minimal", Reasoning(effort="minimal")),
        ("high", Reasoning(effort="high")),
    ],
)
def test_reasoning_effort(effort: str, reasoning: Reasoning) -> None:
    assert decode(reasoning={"effort": effort, "summary": "auto"}).reasoning == reasoning


def test_reasoning_without_effort_sends_none() -> None:
    assert decode(reasoning={"summary": "auto"}).reasoning is UNSET


def test_text_format_json_object_and_text() -> None:
    assert as_builtins(decode(text={"format": {"type": "json_object"}}).response_format) == {
        "type": "json_object"
    }
    assert decode(text={"format": {"type": "text"}}).response_format is UNSET


def _tool(**fields: Any) -> dict[str, Any]:
    return {"type": "function", "name": "f", **fields}


STRICT_SCHEMA = {
    "type": "object",
    "properties": {
        "a": {
            "type": "object",
            "properties": {"b": {"type": "string"}},
            "required": ["b"],
            "additionalProperties": False,
        }
    },
    "required": ["a"],
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    ("schema", "strict"),
    [
        (STRICT_SCHEMA, True),
        ({**STRICT_SCHEMA, "required": []}, UNSET),  # a property not required
        (
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            UNSET,
        ),  # open object
        (
            {**STRICT_SCHEMA, "properties": {"a": {"type": "object", "properties": {}}}},
            UNSET,
        ),  # open nested object
    ],
)
def test_strict_defaults_to_true_when_the_schema_allows_it(schema: dict[str, Any], strict: object) -> None:
    (tool,) = decode(tools=[_tool(parameters=schema)]).tools or ()
    assert tool.strict is strict  # type: ignore[union-attr]


def test_a_schema_too_deep_to_check_is_left_to_the_target() -> None:
    level = b'{"type":"object","required":["a"],"additionalProperties":false,"properties":{"a":'
    schema = level * 450 + b'{"type":"string"}' + b"}}" * 450
    body = (
        b'{"model":"gpt-5","input":"Hi","tools":[{"type":"function","name":"f","parameters":'
        + schema
        + b"}]}"
    )
    (tool,) = to_ir(parse(body)).tools or ()
    assert tool.strict is UNSET  # type: ignore[union-attr]


def test_explicit_strict_and_missing_parameters() -> None:
    tools = decode(tools=[_tool(parameters=STRICT_SCHEMA, strict=False), _tool(name="g")]).tools or []
    assert tools[0].strict is False  # type: ignore[union-attr]
    assert tools[1] == Tool(name="g")  # the IR's default schema, strictness left to the target


def test_custom_tools_become_functions_of_their_input_text() -> None:
    call = call_of(
        tools=[
            {
                "type": "custom",
                "name": "apply_patch",
                "description": "Edit files.",
                "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"},
            },
            {"type": "custom", "name": "note", "format": {"type": "text"}},
        ]
    )
    patch, note = to_ir(call).tools or []
    assert patch == Tool(
        name="apply_patch",
        description="Edit files.\n\nThe `input` text must match this lark grammar:\nstart: /.+/",
        input_schema=CUSTOM_INPUT_SCHEMA,
    )
    assert note == Tool(name="note", input_schema=CUSTOM_INPUT_SCHEMA)
    assert call.custom_tools == frozenset({"apply_patch", "note"})


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", ToolChoice(mode="auto")),
        ("required", ToolChoice(mode="any")),
        ("none", ToolChoice(mode="none")),
        ({"type": "function", "name": "f"}, ToolChoice(mode="tool", name="f")),
        ({"type": "custom", "name": "apply_patch"}, ToolChoice(mode="tool", name="apply_patch")),
        (
            {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "f"}]},
            ToolChoice(mode="any"),
        ),
        ({"type": "web_search_preview"}, UNSET),  # the tool it names is dropped: so is the choice
    ],
)
def test_tool_choice(choice: Any, expected: object) -> None:
    assert decode(tools=[_tool()], tool_choice=choice).tool_choice == expected


def test_top_logprobs_and_auto_truncation_are_dropped_and_logged() -> None:
    with capture_logs() as logs:
        request = decode(top_logprobs=5, truncation="auto")
    assert request.top_logprobs is UNSET
    assert [e["params"] for e in logs if e["event"] == "request.param_dropped"] == [
        ["top_logprobs", "truncation"]
    ]


def test_previous_response_id_is_exposed_and_input_may_be_left_out() -> None:
    call = parse(b'{"model": "gpt-5", "previous_response_id": "resp_abc"}')
    assert call.previous_response_id == "resp_abc"
    assert call.input_items == []
    history = [msgspec.Raw(msgspec.json.encode({"role": "user", "content": "Earlier"}))]
    assert to_ir(call, history).messages == [Message(role="user", content=[TextBlock(text="Earlier")])]


def test_each_call_gets_its_own_response_id() -> None:
    first, second = call_of(), call_of()
    assert first.response_id.startswith("resp_") and len(first.response_id) == 53
    assert first.response_id != second.response_id
    assert first.head.id == first.response_id
