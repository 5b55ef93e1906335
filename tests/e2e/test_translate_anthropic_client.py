"""The Anthropic SDK against the gateway against an OpenAI-protocol fake.

Every test asserts both sides: what the SDK got back (through its own helpers, the stream
helper included) and the OpenAI request the fake received. ``gpt*`` models route to the
``openai`` provider unchanged; ``claude-sonnet-*`` is rewritten to ``gpt-5-mini`` and the alias
is reported back. The Claude Code request has its own module, ``test_translate_claude_code``.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import anthropic
import pytest

from tests.e2e.conftest import OPENAI_KEY, Gateway
from tests.fakes.upstream import FakeUpstream, Reply, error, fixture, json_fixture, sse_fixture

Client = anthropic.Anthropic
MODEL = "gpt-4o-mini"
HELLO = [{"role": "user", "content": "Hello!"}]
DEFAULTS = {"model": MODEL, "max_tokens": 200, "messages": HELLO}
FAKE_TEXT = json.loads(fixture("openai/chat_text.json"))["choices"][0]["message"]["content"]
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
PNG_URL = f"data:image/png;base64,{PNG}"
CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
WEATHER = {"name": "get_weather", "description": "Get the weather forecast for a city.", "input_schema": CITY}
TIME = {"name": "get_time", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}
PARIS = {
    "city": "Paris", "unit": "celsius", "days": 3,
    "details": {"hourly": True, "fields": ["temp", "wind"], "note": 'naïve "quoted"'},
}  # fmt: skip
TOKYO = {"city": "Tokyo", "unit": "fahrenheit", "days": 1, "details": {"hourly": False, "fields": []}}
VALID_TOOL_ID = re.compile(r"[a-zA-Z0-9_-]+")

_CLIENTS: dict[str, Client] = {}


@pytest.fixture
def client(gateway: Gateway) -> Client:
    """One SDK client per gateway process (building one costs ~0.1 s: it loads TLS settings)."""
    if gateway.url not in _CLIENTS:
        _CLIENTS[gateway.url] = gateway.anthropic()
    return _CLIENTS[gateway.url]


def create(client: Client, **params: Any) -> Any:
    """``messages.create`` with this module's defaults (model, max_tokens, messages)."""
    return client.messages.create(**{**DEFAULTS, **params})


def stream(client: Client, **params: Any) -> tuple[list[Any], Any]:
    """Every event of the SDK's stream helper, and its final message."""
    with client.messages.stream(**{**DEFAULTS, **params}) as events:
        seen = list(events)
        return seen, events.get_final_message()


def sent(upstream: FakeUpstream) -> dict[str, Any]:
    """The one request the fake received, as JSON."""
    (request,) = upstream.requests
    assert request.path == "/v1/chat/completions"
    return request.json


def text(value: str) -> dict[str, str]:
    return {"type": "text", "text": value}


def image_url(url: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}}


# --- text, stream, usage, alias -------------------------------------------------------------------


def test_text_request_is_translated_and_the_answer_comes_back(client: Client, upstream: FakeUpstream) -> None:
    system = [{**text("Be brief."), "cache_control": {"type": "ephemeral"}}, text("Answer in French.")]
    message = create(
        client, max_tokens=300, system=system, stop_sequences=["END", "\n\nHuman:"],
        metadata={"user_id": "user-42"}, extra_body={"temperature": 0.3, "top_p": 0.9, "top_k": 40},
    )  # fmt: skip
    assert (message.type, message.role, message.model) == ("message", "assistant", MODEL)
    assert message.id == "chatcmpl-C0b2mcSAsZKHL1fyK2dB5v09URmaL"
    assert [(b.type, b.text) for b in message.content] == [("text", FAKE_TEXT)]
    assert (message.stop_reason, message.stop_sequence) == ("end_turn", None)
    assert (message.usage.input_tokens, message.usage.output_tokens) == (17, 23)
    (request,) = upstream.requests
    assert request.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert "x-api-key" not in request.headers and "anthropic-version" not in request.headers
    assert request.json == {  # top_k dropped; cache_control gone; system blocks merged in order
        "model": MODEL,
        "messages": [
            {"role": "system", "content": "Be brief.\n\nAnswer in French."},
            {"role": "user", "content": "Hello!"},
        ],
        "max_completion_tokens": 300,
        "temperature": 0.3,
        "top_p": 0.9,
        "stop": ["END", "\n\nHuman:"],
        "user": "user-42",
    }


def test_stream_helper_sees_the_documented_grammar(client: Client, upstream: FakeUpstream) -> None:
    events, final = stream(client)
    grammar = [e.type for e in events if e.type not in ("text", "ping")]
    assert grammar[:2] == ["message_start", "content_block_start"]
    assert grammar[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(grammar[2:-3]) == {"content_block_delta"}
    assert [(b.type, b.text) for b in final.content] == [("text", FAKE_TEXT)]
    assert final.stop_reason == "end_turn"
    # OpenAI sends usage only in its last chunk: it must still reach message_delta.
    delta = next(e for e in events if e.type == "message_delta")
    assert (delta.usage.output_tokens, delta.usage.input_tokens) == (23, 17)
    assert (final.usage.input_tokens, final.usage.output_tokens) == (17, 23)
    body = sent(upstream)
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_cached_prompt_tokens_become_cache_reads(client: Client, upstream: FakeUpstream) -> None:
    upstream.script(sse_fixture("openai/stream_usage_cached_tokens.sse"))
    usage = stream(client)[1].usage
    # OpenAI's prompt_tokens include the cached ones; Anthropic's input_tokens exclude them.
    assert (usage.input_tokens, usage.cache_read_input_tokens, usage.output_tokens) == (86, 1920, 23)
    upstream.reset().script(json_fixture("openai/chat_reasoning_content.json"))
    usage = create(client).usage
    assert (usage.input_tokens, usage.cache_read_input_tokens, usage.output_tokens) == (14, 16, 48)


def test_alias_is_reported_in_message_and_stream(client: Client, upstream: FakeUpstream) -> None:
    assert create(client, model="claude-sonnet-4-6").model == "claude-sonnet-4-6"
    events, final = stream(client, model="claude-sonnet-4-6")
    assert events[0].type == "message_start" and events[0].message.model == "claude-sonnet-4-6"
    assert final.model == "claude-sonnet-4-6"
    assert [r.json["model"] for r in upstream.requests] == ["gpt-5-mini", "gpt-5-mini"]


def test_a_message_id_is_made_when_the_upstream_sends_none(client: Client, upstream: FakeUpstream) -> None:
    # TGI answers with "id": "" (Gemini's OpenAI-compatible API with none); Anthropic ids are unique.
    upstream.script(json_fixture("openai/chat_tgi_empty_id.json"), json_fixture("openai/chat_tgi_empty_id.json"))
    ids = [create(client).id, create(client).id]
    upstream.script(sse_fixture("openai/stream_tgi_empty_id.sse"))
    events, final = stream(client)
    ids += [events[0].message.id, final.id]
    assert all(i.startswith("msg_") and len(i) > 10 for i in ids)
    assert len(set(ids)) == 3  # one per message; the stream's start and final message agree
    assert final.content[0].text == "Hello! How can I help you today?" and final.stop_reason == "end_turn"


# --- tools ----------------------------------------------------------------------------------------

TOOL_HISTORY = [
    {"role": "user", "content": "Weather in Paris, and the time in Tokyo?"},
    {"role": "assistant", "content": [
        text("Let me check both."),
        {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "toolu_01B", "name": "get_time", "input": {"city": "Tokyo"}},
    ]},
    {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_01A", "content": "Sunny, 18°C"},
        {"type": "tool_result", "tool_use_id": "toolu_01B", "is_error": True,
         "content": [text("clock unavailable"), text("retry later")]},
        text("Summarise, please."),
    ]},
]  # fmt: skip


def call(id_: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": id_, "type": "function", "function": {"name": name, "arguments": arguments}}


def test_tool_history_and_parallel_calls(client: Client, upstream: FakeUpstream) -> None:
    upstream.script(json_fixture("openai/chat_tool_calls_parallel.json"))
    choice = {"type": "auto", "disable_parallel_tool_use": True}
    message = create(client, messages=TOOL_HISTORY, tools=[WEATHER, TIME], tool_choice=choice)
    assert message.stop_reason == "tool_use"
    assert [(b.id, b.name, b.input) for b in message.content if b.type == "tool_use"] == [
        ("call_aMjReB6JW2Ik6vrDQcU7pOKp", "get_weather", PARIS),
        ("call_eEyGjYbpXHUTOFVaunImkAqZ", "get_time", TOKYO),
    ]
    body = sent(upstream)
    assert body["tools"] == [
        {"type": "function", "function": {"name": "get_weather", "description": WEATHER["description"],
                                          "parameters": CITY}},
        {"type": "function", "function": {"name": "get_time", "parameters": TIME["input_schema"]}},
    ]  # fmt: skip
    assert body["tool_choice"] == "auto" and body["parallel_tool_calls"] is False
    assert body["messages"] == [
        {"role": "user", "content": "Weather in Paris, and the time in Tokyo?"},
        {"role": "assistant", "content": "Let me check both.", "tool_calls": [
            call("toolu_01A", "get_weather", '{"city":"Paris"}'),
            call("toolu_01B", "get_time", '{"city":"Tokyo"}'),
        ]},
        # tool messages right after the calls, in order; the rest of the turn follows them
        {"role": "tool", "tool_call_id": "toolu_01A", "content": "Sunny, 18°C"},
        {"role": "tool", "tool_call_id": "toolu_01B", "content": "Error: clock unavailable\n\nretry later"},
        {"role": "user", "content": "Summarise, please."},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, "auto"),
        ({"type": "any"}, "required"),
        ({"type": "none"}, "none"),
        ({"type": "tool", "name": "get_weather"}, {"type": "function", "function": {"name": "get_weather"}}),
    ],
)
def test_tool_choice_is_mapped(client: Client, upstream: FakeUpstream, choice: dict, expected: Any) -> None:
    create(client, tools=[WEATHER], tool_choice=choice)
    body = sent(upstream)
    assert body["tool_choice"] == expected
    assert "parallel_tool_calls" not in body


def test_streamed_parallel_tool_calls(client: Client, upstream: FakeUpstream) -> None:
    upstream.script(sse_fixture("openai/stream_tool_calls_parallel.sse"))
    events, final = stream(client, tools=[WEATHER, TIME])
    starts = [(e.index, e.content_block.name) for e in events if e.type == "content_block_start"]
    assert starts == [(0, "get_weather"), (1, "get_time")]
    assert [e.index for e in events if e.type == "content_block_stop"] == [0, 1]
    fragments = [e for e in events if e.type == "content_block_delta" and e.index == 0]
    assert len(fragments) > 5  # arguments relayed as they arrive, not buffered
    assert [(b.name, b.input) for b in final.content] == [("get_weather", PARIS), ("get_time", TOKYO)]
    assert final.content[0].id == "call_3QQz5niU4my9jIQPa8k6NUr4"
    assert final.stop_reason == "tool_use"


def test_streamed_text_then_tool_call(client: Client, upstream: FakeUpstream) -> None:
    upstream.script(sse_fixture("openai/stream_text_then_tool.sse"))
    final = stream(client, tools=[WEATHER])[1]
    assert [b.type for b in final.content] == ["text", "tool_use"]
    assert final.content[0].text.startswith("Let me look")
    assert final.content[1].name == "get_weather" and final.content[1].input["city"] == "Paris"
    assert final.stop_reason == "tool_use"


def test_parallel_calls_all_at_index_zero_stay_apart(client: Client, upstream: FakeUpstream) -> None:
    # Gemini's OpenAI-compatible API streams each parallel call in its own chunk, all at index 0.
    upstream.script(sse_fixture("openai/stream_parallel_tool_calls_same_index.sse"))
    final = stream(client, tools=[WEATHER, TIME])[1]
    assert [(b.id[-3:], b.name, b.input) for b in final.content] == [
        ("956", "get_weather", {"city": "Paris"}),
        ("957", "get_time", {"city": "Tokyo"}),
        ("958", "get_weather", {"city": "Lima"}),
    ]
    assert final.stop_reason == "tool_use"  # Gemini says "stop"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (64, 27)


def test_tool_ids_anthropic_would_refuse_are_made_valid(client: Client, upstream: FakeUpstream) -> None:
    # Kimi names its calls "functions.get_weather:0"; the client may replay them to an Anthropic route.
    upstream.script(json_fixture("openai/chat_kimi_tool_call_ids.json"))
    message = create(client, tools=[WEATHER, TIME])
    ids = [b.id for b in message.content if b.type == "tool_use"]
    assert len(set(ids)) == 2 and all(VALID_TOOL_ID.fullmatch(i) for i in ids)
    assert ids[0].startswith("functions_get_weather_0")
    upstream.reset().script(json_fixture("anthropic/message_text.json"))
    results = [{"type": "tool_result", "tool_use_id": i, "content": "ok"} for i in ids]
    history = [*HELLO, {"role": "assistant", "content": [b.model_dump() for b in message.content]},
               {"role": "user", "content": results}]  # fmt: skip
    create(client, model="claude-3-5-haiku", messages=history, tools=[WEATHER, TIME])
    assert upstream.requests[0].json["messages"][1]["content"][0]["id"] == ids[0]  # replayed as is


# --- images and documents -------------------------------------------------------------------------


def test_images_become_image_url_parts(client: Client, upstream: FakeUpstream) -> None:
    url = "https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg"
    content = [
        text("Compare these."),
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": url}},
    ]
    create(client, messages=[{"role": "user", "content": content}])
    parts = [text("Compare these."), image_url(PNG_URL), image_url(url)]
    assert sent(upstream)["messages"] == [{"role": "user", "content": parts}]


def test_tool_result_images_follow_the_tool_messages(client: Client, upstream: FakeUpstream) -> None:
    # OpenAI tool messages hold text only: the image goes in a user message right after them.
    use = {"type": "tool_use", "id": "toolu_01S", "name": "screenshot", "input": {}}
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}
    result = {"type": "tool_result", "tool_use_id": "toolu_01S", "content": [text("Captured."), image]}
    history = [*HELLO, {"role": "assistant", "content": [use]}, {"role": "user", "content": [result]}]
    create(client, messages=history, tools=[{"name": "screenshot", "input_schema": {"type": "object"}}])
    assert sent(upstream)["messages"][2:] == [
        {"role": "tool", "tool_call_id": "toolu_01S", "content": "Captured."},
        {"role": "user", "content": [image_url(PNG_URL)]},
    ]


def test_document_is_refused_before_anything_is_sent(client: Client, upstream: FakeUpstream) -> None:
    source = {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjQK"}
    content = [{"type": "document", "source": source}, text("Summarise.")]
    with pytest.raises(anthropic.BadRequestError) as info:
        create(client, messages=[{"role": "user", "content": content}])
    assert "document" in info.value.message
    assert info.value.body["error"]["type"] == "invalid_request_error"
    assert upstream.requests == []


# --- thinking -------------------------------------------------------------------------------------

THINKING_HISTORY = [
    {"role": "user", "content": "What is 6 * 7?"},
    {"role": "assistant", "content": [
        {"type": "thinking", "thinking": "Multiply.", "signature": "EqQBCkgIARAB"},
        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"},
        text("42."),
    ]},
    {"role": "user", "content": "And 6 * 8?"},
]  # fmt: skip


@pytest.mark.parametrize(("budget", "effort"), [(1024, "low"), (8000, "medium"), (31999, "high")])
def test_thinking_budget_becomes_reasoning_effort(
    client: Client, upstream: FakeUpstream, budget: int, effort: str
) -> None:
    thinking = {"type": "enabled", "budget_tokens": budget}
    create(client, max_tokens=budget + 1000, messages=THINKING_HISTORY, thinking=thinking)
    body = sent(upstream)
    assert body["reasoning_effort"] == effort and "thinking" not in body
    assert body["messages"][1] == {"role": "assistant", "content": "42."}  # thinking never sent as text


@pytest.mark.parametrize(
    ("thinking", "output_config", "effort"),
    [
        ({"type": "adaptive"}, {"effort": "medium"}, "medium"),
        ({"type": "adaptive"}, None, None),
        ({"type": "disabled"}, None, None),
    ],
)
def test_adaptive_and_disabled_thinking(
    client: Client, upstream: FakeUpstream, thinking: dict, output_config: dict | None, effort: str | None
) -> None:
    extra = {} if output_config is None else {"output_config": output_config}
    create(client, thinking=thinking, **extra)
    body = sent(upstream)
    assert body.get("reasoning_effort") == effort
    assert "thinking" not in body and "output_config" not in body


def test_reasoning_content_becomes_a_thinking_block(client: Client, upstream: FakeUpstream) -> None:
    upstream.script(json_fixture("openai/chat_reasoning_content.json"))
    message = create(client)
    assert [b.type for b in message.content] == ["thinking", "text"]
    assert message.content[0].thinking == "The user asks for the answer. Think: 6 * 7 = 42."
    assert message.content[0].signature == ""
    assert message.content[1].text == "The answer is 42."


def test_streamed_reasoning_then_text(client: Client, upstream: FakeUpstream) -> None:
    upstream.script(sse_fixture("openai/stream_reasoning_then_text.sse"))
    events, final = stream(client)
    deltas = [e.delta.type for e in events if e.type == "content_block_delta"]
    assert deltas == ["thinking_delta", "thinking_delta", "text_delta", "text_delta"]
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].thinking == "Six times seven is 42."
    assert final.content[1].text == "The answer is 42."
    assert (final.usage.input_tokens, final.usage.output_tokens) == (11, 25)


# --- stop reasons ---------------------------------------------------------------------------------


def test_matched_stop_string_is_the_stop_sequence(client: Client, upstream: FakeUpstream) -> None:
    upstream.script(json_fixture("openai/chat_vllm_stop_string.json"))
    message = create(client, stop_sequences=["END"])
    assert (message.stop_reason, message.stop_sequence) == ("stop_sequence", "END")
    upstream.reset().script(sse_fixture("openai/stream_vllm_stop_string.sse"))
    final = stream(client, stop_sequences=["END"])[1]
    assert (final.stop_reason, final.stop_sequence) == ("stop_sequence", "END")
    assert final.content[0].text == "1, 2, 3"
    assert sent(upstream)["stop"] == ["END"]


@pytest.mark.parametrize(
    ("finish_reason", "stop_reason"),
    [("length", "max_tokens"), ("content_filter", "refusal"), ("stop", "end_turn")],
)
def test_finish_reason_becomes_stop_reason(
    client: Client, upstream: FakeUpstream, finish_reason: str, stop_reason: str
) -> None:
    finish = b'"finish_reason":"%s"' % finish_reason.encode()
    body = fixture("openai/chat_text.json").replace(b'"finish_reason":"stop"', finish)
    upstream.script(Reply(200, body))
    assert create(client).stop_reason == stop_reason


# --- errors ---------------------------------------------------------------------------------------


def test_upstream_rate_limit_is_a_rate_limit_error(client: Client, upstream: FakeUpstream) -> None:
    upstream.script(error(429, retry_after=2), error(429))
    with pytest.raises(anthropic.RateLimitError) as info:
        create(client)
    assert info.value.body["error"]["type"] == "rate_limit_error"
    assert "Rate limit reached" in info.value.body["error"]["message"]
    assert info.value.response.headers["retry-after"] == "2"
    with pytest.raises(anthropic.RateLimitError):  # before the first byte of a stream: the same
        stream(client)


def test_upstream_500_is_an_api_error(client: Client, upstream: FakeUpstream) -> None:
    upstream.script(error(500), error(500))
    with pytest.raises(anthropic.InternalServerError) as info:
        create(client)
    assert info.value.status_code == 502
    assert info.value.body["error"]["type"] == "api_error"
    with pytest.raises(anthropic.InternalServerError):
        stream(client)


@pytest.mark.parametrize(
    ("status", "error_class", "client_status", "error_type"),
    [
        (400, anthropic.BadRequestError, 400, "invalid_request_error"),
        (401, anthropic.AuthenticationError, 401, "authentication_error"),
        (503, anthropic.APIStatusError, 529, "overloaded_error"),
    ],
)
def test_other_upstream_statuses(
    client: Client,
    upstream: FakeUpstream,
    status: int,
    error_class: type,
    client_status: int,
    error_type: str,
) -> None:
    upstream.script(error(status))
    with pytest.raises(error_class) as info:
        create(client)
    assert info.value.status_code == client_status
    assert info.value.body["error"]["type"] == error_type
    message = info.value.body["error"]["message"]
    if status == 400:
        assert message == "Unrecognized request argument supplied: top_k"  # the upstream's own words
    if status == 401:
        assert "openai" in message and OPENAI_KEY not in message  # names the provider, never a key


def test_stream_cut_midway_ends_with_an_error_event(client: Client, upstream: FakeUpstream) -> None:
    upstream.script(sse_fixture("openai/stream_text_with_usage.sse", cut_after=3))
    seen: list[str] = []
    with pytest.raises(anthropic.APIStatusError) as info:
        with client.messages.stream(**DEFAULTS) as events:
            seen.extend(event.type for event in events)
    assert seen[0] == "message_start" and "message_stop" not in seen
    assert info.value.body["type"] == "error" and info.value.body["error"]["type"] == "api_error"


@pytest.mark.parametrize("how", ["cut_after", "end_after"])
def test_stream_ending_early_never_hangs(client: Client, upstream: FakeUpstream, how: str) -> None:
    upstream.script(sse_fixture("openai/stream_tool_calls_parallel.sse", **{how: 6}))
    started = time.monotonic()
    with pytest.raises(anthropic.APIStatusError) as info:
        stream(client, tools=[WEATHER])
    assert info.value.body["error"]["type"] == "api_error"
    assert time.monotonic() - started < 2.5  # noticed at once, not after the 3 s idle timeout


def test_upstream_error_frame_midstream_is_an_error_event(client: Client, upstream: FakeUpstream) -> None:
    upstream.script(sse_fixture("openai/stream_midstream_error.sse"))
    with pytest.raises(anthropic.APIStatusError) as info:
        stream(client)
    assert info.value.body["error"]["type"] == "api_error"
    assert "scripted MIDERR" in info.value.body["error"]["message"]


def test_stream_is_relayed_as_it_arrives(client: Client, upstream: FakeUpstream) -> None:
    upstream.script(sse_fixture("openai/stream_text_with_usage.sse", stall_after=4, stall_seconds=1.0))
    with client.messages.stream(**DEFAULTS) as events:
        first_text = next(e for e in events if e.type == "text")
        sent_so_far = upstream.requests[0].frames_sent
        events.get_final_message()
    assert first_text.text == "Hello from the fake"
    assert sent_so_far <= 4  # the client had it before the upstream went past its pause: nothing buffered


# --- count_tokens ---------------------------------------------------------------------------------


def test_count_tokens_is_estimated_locally(client: Client, upstream: FakeUpstream) -> None:
    short = client.messages.count_tokens(model=MODEL, messages=HELLO).input_tokens
    sentence = "The quick brown fox jumps over the lazy dog. "  # 10 tokens (cl100k, o200k)
    messages = [{"role": "user", "content": sentence * 20}]
    long = client.messages.count_tokens(
        model=MODEL, system="You are terse.", messages=messages, tools=[WEATHER]
    ).input_tokens
    assert 5 <= short <= 15
    assert 200 <= long <= 300
    assert upstream.requests == []
