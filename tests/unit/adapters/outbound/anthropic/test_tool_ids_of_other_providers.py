"""Regression: tool-call ids other providers mint (Kimi's ``functions.get_weather:0``) reached
Anthropic as they were, and Anthropic answers 400 to an id outside ``^[a-zA-Z0-9_-]+$``: an
OpenAI client's conversation could not continue on Claude."""

from __future__ import annotations

import re

import msgspec
from msgspec import Raw

from adapters.outbound.anthropic.request import build_body
from adapters.outbound.anthropic.settings import AnthropicSettings
from adapters.protocols.anthropic.request import tool_id
from domain.ir import ChatRequest, Message, TextBlock, ToolResultBlock, ToolUseBlock

SETTINGS = AnthropicSettings(name="claude", base_url="https://api.anthropic.com")
VALID = re.compile(r"[a-zA-Z0-9_-]+")


def test_refused_ids_become_valid_and_stay_paired() -> None:
    ids = ["functions.get_weather:0", "functions.get_weather:1", "call|fc_0ca1b059"]
    uses = [ToolUseBlock(id=i, name="get_weather", input=Raw(b"{}")) for i in ids]
    results = [ToolResultBlock(tool_use_id=i, content=[TextBlock(text="ok")]) for i in ids]
    request = ChatRequest(
        model="m",
        messages=[
            Message(role="user", content=[TextBlock(text="Weather?")]),
            Message(role="assistant", content=list(uses)),
            Message(role="user", content=list(results)),
        ],
    )
    body = msgspec.json.decode(build_body(request, "claude-sonnet-4-5", SETTINGS))
    use_ids = [block["id"] for block in body["messages"][1]["content"]]
    result_ids = [block["tool_use_id"] for block in body["messages"][2]["content"]]
    assert use_ids == result_ids
    assert all(VALID.fullmatch(i) for i in use_ids)
    assert len(set(use_ids)) == 3  # ids that clean up alike stay distinct
    assert use_ids[0].startswith("functions_get_weather_0_")


def test_valid_ids_are_kept_and_the_mapping_is_stable() -> None:
    for valid in ("toolu_01A09q90qw90lq917835lq9", "call_aMjReB6JW2Ik6vrDQcU7pOKp", "a-b_c"):
        assert tool_id(valid) == valid
    assert tool_id("functions.f:0") == tool_id("functions.f:0")
    assert VALID.fullmatch(tool_id("::"))
