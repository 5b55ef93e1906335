"""IR from an OpenAI client -> Anthropic upstream body: the exact JSON Anthropic receives.

The IR here is built the way the OpenAI decoder builds it (system + developer merged into
``system``, ``tool`` messages gathered into one user message of tool results, data URLs split
into data + media type, ``reasoning_effort`` -> ``Reasoning(effort)``, ...).
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
import pytest
from msgspec import Raw
from structlog.testing import capture_logs

from adapters.outbound.anthropic.request import build_body, build_count_tokens_body
from adapters.outbound.anthropic.settings import AnthropicSettings
from adapters.protocols.anthropic.request import tool_id
from domain.errors import ErrorKind, GatewayError
from domain.ir import (
    ChatRequest,
    ImageBlock,
    Message,
    NativeRequest,
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

SETTINGS = AnthropicSettings(name="claude", base_url="https://api.anthropic.com", default_max_tokens=4096)
MODEL = "claude-sonnet-4-5"
WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def raw(value: Any) -> Raw:
    return Raw(msgspec.json.encode(value))


def user(*blocks: Any) -> Message:
    return Message(role="user", content=list(blocks))


def assistant(*blocks: Any) -> Message:
    return Message(role="assistant", content=list(blocks))


def build(request: ChatRequest) -> dict[str, Any]:
    return msgspec.json.decode(build_body(request, MODEL, SETTINGS))


HELLO = [user(TextBlock(text="Hello"))]
HELLO_WIRE = [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}]

# The IR of this OpenAI request (what an agent sends mid tool loop):
# {"model": "gpt-4o", "messages": [
#   {"role": "system", "content": "You are terse."},
#   {"role": "developer", "content": [{"type": "text", "text": "Use metric units."}]},
#   {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Rome? Also see:"},
#     {"type": "image_url", "image_url": {"url": "data:image/png;base64,<PNG>", "detail": "high"}},
#     {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}]},
#   {"role": "assistant", "content": null, "tool_calls": [
#     {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
#     {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}}]},
#   {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
#   {"role": "tool", "tool_call_id": "call_2", "content": "24C"}],
#  "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Current weather.",
#             "parameters": <WEATHER_SCHEMA>, "strict": true}}],
#  "tool_choice": "auto", "parallel_tool_calls": false, "max_completion_tokens": 1000,
#  "temperature": 0.2, "presence_penalty": 0.5, "frequency_penalty": 0.1, "seed": 7,
#  "user": "u-42", "stop": ["END"], "stream": true, "stream_options": {"include_usage": true},
#  "reasoning_effort": "low"}
AGENT = ChatRequest(
    model="gpt-4o",
    system=[TextBlock(text="You are terse."), TextBlock(text="Use metric units.")],
    messages=[
        user(
            TextBlock(text="Weather in Paris and Rome? Also see:"),
            ImageBlock(data=PNG, media_type="image/png", detail="high"),
            ImageBlock(url="https://example.com/cat.jpg"),
        ),
        assistant(
            ToolUseBlock(id="call_1", name="get_weather", input=Raw(b'{"city":"Paris"}')),
            ToolUseBlock(id="call_2", name="get_weather", input=Raw(b'{"city":"Rome"}')),
        ),
        user(
            ToolResultBlock(tool_use_id="call_1", content=[TextBlock(text="18C")]),
            ToolResultBlock(tool_use_id="call_2", content=[TextBlock(text="24C")]),
        ),
    ],
    tools=[Tool(name="get_weather", description="Current weather.", input_schema=raw(WEATHER_SCHEMA), strict=True)],
    tool_choice=ToolChoice(mode="auto"),
    parallel_tool_calls=False,
    max_tokens=1000,
    temperature=0.2,
    presence_penalty=0.5,
    frequency_penalty=0.1,
    seed=7,
    user="u-42",
    stop=["END"],
    stream=True,
    include_usage=True,
    reasoning=Reasoning(effort="low"),
    native=NativeRequest(protocol="openai", fields={"model": Raw(b'"gpt-4o"')}),
)

AGENT_WIRE = {
    "model": MODEL,
    "max_tokens": 1000,
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Weather in Paris and Rome? Also see:"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {"city": "Rome"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": [{"type": "text", "text": "18C"}]},
                {"type": "tool_result", "tool_use_id": "call_2", "content": [{"type": "text", "text": "24C"}]},
            ],
        },
    ],
    "system": [{"type": "text", "text": "You are terse."}, {"type": "text", "text": "Use metric units."}],
    "metadata": {"user_id": "u-42"},
    "stop_sequences": ["END"],
    "stream": True,
    "temperature": 0.2,
    "tools": [{"name": "get_weather", "description": "Current weather.", "input_schema": WEATHER_SCHEMA, "strict": True}],
    "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
}


def test_openai_agent_request_mid_tool_loop() -> None:
    """Thinking is left out: the last assistant turn calls tools without a thinking block,
    which Anthropic refuses while thinking is on. Penalties and seed are dropped and logged."""
    with capture_logs() as logs:
        assert build(AGENT) == AGENT_WIRE
    assert logs == [
        {
            "event": "request.param_dropped",
            "params": ["presence_penalty", "frequency_penalty", "seed", "reasoning"],
            "target": "anthropic",
            "log_level": "info",
        }
    ]


def test_openai_agent_request_decoded_by_the_openai_frontdoor() -> None:
    """The same request through the OpenAI decoder, when that module is present."""
    decode = pytest.importorskip("adapters.inbound.openai.decode")
    body = {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "developer", "content": [{"type": "text", "text": "Use metric units."}]},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Weather in Paris and Rome? Also see:"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}", "detail": "high"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}},
                    {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'}},
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
            {"role": "tool", "tool_call_id": "call_2", "content": "24C"},
        ],
        "tools": [
            {
                "type": "function",
                "function": {"name": "get_weather", "description": "Current weather.", "parameters": WEATHER_SCHEMA, "strict": True},
            }
        ],
        "tool_choice": "auto",
        "parallel_tool_calls": False,
        "max_completion_tokens": 1000,
        "temperature": 0.2,
        "presence_penalty": 0.5,
        "frequency_penalty": 0.1,
        "seed": 7,
        "user": "u-42",
        "stop": ["END"],
        "stream": True,
        "stream_options": {"include_usage": True},
        "reasoning_effort": "low",
    }
    assert build(decode.to_ir(msgspec.json.encode(body))) == AGENT_WIRE


def minimal(**params: Any) -> ChatRequest:
    return ChatRequest(model="gpt-4o", messages=params.pop("messages", HELLO), **params)


def wire(**fields: Any) -> dict[str, Any]:
    return {"model": MODEL, "max_tokens": fields.pop("max_tokens", 4096), "messages": fields.pop("messages", HELLO_WIRE), **fields}


CASES = [
    ("max_tokens_absent_uses_the_provider_default", minimal(), wire()),
    ("single_system_block_is_a_string", minimal(system=[TextBlock(text="Be brief.")]), wire(system="Be brief.")),
    ("empty_system_is_omitted", minimal(system=[TextBlock(text="")]), wire()),
    ("stream_false_is_omitted", minimal(stream=False, include_usage=True), wire()),
    ("top_p_and_top_k", minimal(top_p=0.9, top_k=20), wire(top_p=0.9, top_k=20)),
    # OpenAI's temperature goes to 2, Anthropic's to 1: a higher one is clamped, not refused.
    ("temperature_above_one_is_sent_as_one", minimal(temperature=1.7), wire(temperature=1.0)),
    ("temperature_within_range_is_kept", minimal(temperature=0.3), wire(temperature=0.3)),
    ("response_format_json_schema_is_structured_output", minimal(
        response_format=raw({"type": "json_schema", "json_schema": {"name": "pt", "schema": WEATHER_SCHEMA, "strict": True}})
    ), wire(output_config={"format": {"type": "json_schema", "schema": WEATHER_SCHEMA}})),
    ("n_1_and_logprobs_false_are_fine", minimal(n=1, logprobs=False, top_logprobs=0), wire()),
    (
        "consecutive_same_role_messages_merge_and_empty_text_is_dropped",
        minimal(messages=[
            user(TextBlock(text="One")),
            user(TextBlock(text="")),
            user(TextBlock(text="Two")),
            assistant(TextBlock(text="")),
            assistant(TextBlock(text="Three")),
        ]),
        wire(messages=[
            {"role": "user", "content": [{"type": "text", "text": "One"}, {"type": "text", "text": "Two"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "Three"}]},
        ]),
    ),
    (
        "tool_results_come_first_in_a_user_turn",
        minimal(messages=[
            assistant(ToolUseBlock(id="c1", name="f", input=Raw(b"{}"))),
            user(ToolResultBlock(tool_use_id="c1", content=[TextBlock(text="ok")], is_error=False)),
            user(TextBlock(text="Now summarise"), ToolResultBlock(tool_use_id="c2", content=[], is_error=True)),
        ]),
        wire(messages=[
            {"role": "assistant", "content": [{"type": "tool_use", "id": "c1", "name": "f", "input": {}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "c1", "content": [{"type": "text", "text": "ok"}], "is_error": False},
                {"type": "tool_result", "tool_use_id": "c2", "is_error": True},
                {"type": "text", "text": "Now summarise"},
            ]},
        ]),
    ),
    (
        "data_url_in_an_image_url_becomes_base64",
        minimal(messages=[user(ImageBlock(url="data:image/jpeg;base64,/9j/4AAQ"))]),
        wire(messages=[{"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}}
        ]}]),
    ),
    (
        "images_inside_tool_results",
        minimal(messages=[user(ToolResultBlock(tool_use_id="c1", content=[
            TextBlock(text="chart"), ImageBlock(url="https://example.com/c.png")
        ]))]),
        wire(messages=[{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "c1", "content": [
            {"type": "text", "text": "chart"},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/c.png"}},
        ]}]}]),
    ),
    (
        "signed_thinking_replayed_unsigned_dropped",
        minimal(messages=[
            user(TextBlock(text="Q")),
            assistant(
                ThinkingBlock(thinking="unsigned"),
                ThinkingBlock(thinking="signed", signature="EqQB"),
                RedactedThinkingBlock(data="EmwK"),
                TextBlock(text="A"),
            ),
        ]),
        wire(messages=[
            {"role": "user", "content": [{"type": "text", "text": "Q"}]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "signed", "signature": "EqQB"},
                {"type": "redacted_thinking", "data": "EmwK"},
                {"type": "text", "text": "A"},
            ]},
        ]),
    ),
    (
        "anthropic_opaque_blocks_and_tools_go_raw",
        minimal(
            messages=[user(OpaqueBlock(protocol="anthropic", kind="document", data=raw({"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "d"}})))],
            tools=[OpaqueTool(protocol="anthropic", kind="web_search_20250305", data=raw({"type": "web_search_20250305", "name": "web_search"}))],
        ),
        wire(
            messages=[{"role": "user", "content": [{"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "d"}}]}],
            tools=[{"type": "web_search_20250305", "name": "web_search"}],
        ),
    ),
    (
        "reasoning_effort_high_without_max_tokens",
        minimal(reasoning=Reasoning(effort="high"), temperature=0.2, top_p=0.5, top_k=3),
        wire(max_tokens=4096 + 16384, thinking={"type": "enabled", "budget_tokens": 16384}),
    ),
    (
        "budget_below_max_tokens_keeps_both",
        minimal(reasoning=Reasoning(budget_tokens=5000), max_tokens=8000, temperature=1.0, top_p=0.95),
        wire(max_tokens=8000, thinking={"type": "enabled", "budget_tokens": 5000}, temperature=1.0, top_p=0.95),
    ),
    (
        "budget_is_at_least_1024",
        minimal(reasoning=Reasoning(budget_tokens=100), max_tokens=500),
        wire(max_tokens=1524, thinking={"type": "enabled", "budget_tokens": 1024}),
    ),
    ("reasoning_disabled_is_explicit", minimal(reasoning=Reasoning(enabled=False)), wire(thinking={"type": "disabled"})),
    (
        "forced_tool_use_leaves_thinking_out",
        minimal(reasoning=Reasoning(effort="low"), tools=[Tool(name="f")], tool_choice=ToolChoice(mode="any"), temperature=0.1),
        wire(
            temperature=0.1,
            tools=[{"name": "f", "input_schema": {"type": "object", "properties": {}}}],
            tool_choice={"type": "any"},
        ),
    ),
    (
        "thinking_kept_when_the_last_tool_turn_starts_with_signed_thinking",
        minimal(
            reasoning=Reasoning(effort="minimal"),
            max_tokens=2000,
            messages=[
                assistant(ThinkingBlock(thinking="t", signature="s"), ToolUseBlock(id="c", name="f", input=Raw(b"{}"))),
                user(ToolResultBlock(tool_use_id="c", content=[TextBlock(text="r")])),
            ],
        ),
        wire(
            max_tokens=2000,
            thinking={"type": "enabled", "budget_tokens": 1024},
            messages=[
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "t", "signature": "s"},
                    {"type": "tool_use", "id": "c", "name": "f", "input": {}},
                ]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "c", "content": [{"type": "text", "text": "r"}]}]},
            ],
        ),
    ),
    (
        "tool_choice_named_tool_without_parallel_calls",
        minimal(tools=[Tool(name="f")], tool_choice=ToolChoice(mode="tool", name="f"), parallel_tool_calls=False),
        wire(
            tools=[{"name": "f", "input_schema": {"type": "object", "properties": {}}}],
            tool_choice={"type": "tool", "name": "f", "disable_parallel_tool_use": True},
        ),
    ),
    (
        "tool_choice_none_has_no_parallel_flag",
        minimal(tools=[Tool(name="f")], tool_choice=ToolChoice(mode="none"), parallel_tool_calls=False),
        wire(tools=[{"name": "f", "input_schema": {"type": "object", "properties": {}}}], tool_choice={"type": "none"}),
    ),
    ("parallel_false_without_tools_is_moot", minimal(parallel_tool_calls=False), wire()),
]


@pytest.mark.parametrize(("request_", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_translated_body(request_: ChatRequest, expected: dict[str, Any]) -> None:
    assert build(request_) == expected


DROP_CASES = [
    ("penalties_and_seed", minimal(presence_penalty=1.0, frequency_penalty=0.5, seed=3), ["presence_penalty", "frequency_penalty", "seed"]),
    ("response_format_text", minimal(response_format=raw({"type": "text"})), ["response_format"]),
    ("sampling_under_thinking", minimal(reasoning=Reasoning(effort="low"), temperature=0.2, top_k=3, top_p=0.5), ["temperature", "top_k", "top_p"]),
]


@pytest.mark.parametrize(("request_", "params"), [c[1:] for c in DROP_CASES], ids=[c[0] for c in DROP_CASES])
def test_dropped_parameters_are_logged_by_name(request_: ChatRequest, params: list[str]) -> None:
    with capture_logs() as logs:
        body = build(request_)
    assert [e for e in logs if e["event"] == "request.param_dropped"] == [
        {"event": "request.param_dropped", "params": params, "target": "anthropic", "log_level": "info"}
    ]
    assert not set(params) & set(body)


def test_unsigned_thinking_blocks_dropped_are_logged() -> None:
    request = minimal(messages=[user(TextBlock(text="Q")), assistant(ThinkingBlock(thinking="t"), TextBlock(text="A"))])
    with capture_logs() as logs:
        build(request)
    assert logs == [
        {"event": "request.blocks_dropped", "kind": "thinking", "count": 1, "reason": "unsigned", "target": "anthropic", "log_level": "info"}
    ]


REFUSED = [
    ("n_2", minimal(n=2), "n", "n > 1"),
    ("logprobs", minimal(logprobs=True), "logprobs", "logprobs"),
    ("top_logprobs", minimal(top_logprobs=3), "top_logprobs", "top_logprobs"),
    ("json_object", minimal(response_format=raw({"type": "json_object"})), "response_format", "'json_object'"),
    ("input_audio", minimal(messages=[user(OpaqueBlock(protocol="openai", kind="input_audio", data=raw({"type": "input_audio"})))]), "messages", "'input_audio'"),
    ("openai_file_in_tool_result", minimal(messages=[user(ToolResultBlock(tool_use_id="c", content=[OpaqueBlock(protocol="openai", kind="file", data=raw({}))]))]), "messages", "'file'"),
    ("openai_custom_tool", minimal(tools=[OpaqueTool(protocol="openai", kind="custom", data=raw({"type": "custom"}))]), "tools", "'custom'"),
    ("non_base64_data_url", minimal(messages=[user(ImageBlock(url="data:image/svg+xml,%3Csvg%3E"))]), "messages", "data:"),
]


@pytest.mark.parametrize(("request_", "param", "needle"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_refused_parameters_are_a_400_naming_them(request_: ChatRequest, param: str, needle: str) -> None:
    with pytest.raises(GatewayError) as caught:
        build_body(request_, MODEL, SETTINGS)
    assert caught.value.kind is ErrorKind.INVALID_REQUEST
    assert caught.value.param == param
    assert needle in caught.value.message


def test_translated_count_tokens_body_has_only_counting_fields() -> None:
    body = msgspec.json.decode(build_count_tokens_body(AGENT, MODEL, SETTINGS))
    assert body == {k: v for k, v in AGENT_WIRE.items() if k in {"model", "messages", "system", "tools", "tool_choice"}}


TOOL_ID = re.compile(r"[a-zA-Z0-9_-]+")  # what Anthropic accepts; other providers mint others


def test_tool_ids_of_other_providers_become_valid_for_anthropic_and_stay_paired() -> None:
    """Kimi's ``functions.get_weather:0`` (and ids like it) in an OpenAI client's history
    would get a 400 from Anthropic, ending the conversation on Claude."""
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
    body = build(request)
    use_ids = [block["id"] for block in body["messages"][1]["content"]]
    result_ids = [block["tool_use_id"] for block in body["messages"][2]["content"]]
    assert use_ids == result_ids
    assert all(TOOL_ID.fullmatch(i) for i in use_ids)
    assert len(set(use_ids)) == 3  # ids that clean up alike stay distinct
    assert use_ids[0].startswith("functions_get_weather_0_")


def test_valid_tool_ids_are_kept_and_the_mapping_is_stable() -> None:
    for valid in ("toolu_01A09q90qw90lq917835lq9", "call_aMjReB6JW2Ik6vrDQcU7pOKp", "a-b_c"):
        assert tool_id(valid) == valid
    assert tool_id("functions.f:0") == tool_id("functions.f:0")
    assert TOOL_ID.fullmatch(tool_id("::"))
