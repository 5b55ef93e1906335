"""The OpenAI SDK against the gateway against an Anthropic-protocol fake.

Every test asserts both sides: what the SDK got back (stream iteration and the
``chat.completions.stream`` helper included) and the Anthropic request the fake received.
``claude*`` models (other than the rewritten haiku-4.5 / sonnet ones) route to the ``anthropic``
provider unchanged; ``anthropic/<model>`` strips the prefix. (The e2e config has no alias route
to Anthropic, so the alias rule is proven for this frontdoor by its unit tests.)
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import openai
import pytest

from tests.e2e.conftest import ANTHROPIC_KEY, Gateway
from tests.fakes.upstream import FakeUpstream, Reply, error, fixture, json_fixture, sse_fixture

Client = openai.OpenAI
MODEL = "claude-3-5-haiku"
HELLO = [{"role": "user", "content": "Hello!"}]
DEFAULTS = {"model": MODEL, "messages": HELLO}
FAKE_TEXT = json.loads(fixture("anthropic/message_text.json"))["content"][0]["text"]
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": CITY}}
TIME = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}
PARIS = {
    "city": "Paris", "unit": "celsius", "days": 3,
    "details": {"hourly": True, "fields": ["temp", "wind"], "note": 'naïve "quoted"'},
}  # fmt: skip
TOKYO = {"city": "Tokyo", "unit": "fahrenheit", "days": 1, "details": {"hourly": False, "fields": []}}
PARIS_ONLY = {"city": "Paris"}
NAMED = {"type": "function", "function": {"name": "get_weather"}}
VALID_TOOL_ID = re.compile(r"[a-zA-Z0-9_-]+")

_CLIENTS: dict[str, Client] = {}


@pytest.fixture
def client(gateway: Gateway) -> Client:
    """One SDK client per gateway process (building one costs ~0.1 s: it loads TLS settings)."""
    if gateway.url not in _CLIENTS:
        _CLIENTS[gateway.url] = gateway.openai()
    return _CLIENTS[gateway.url]


def create(client: Client, **params: Any) -> Any:
    """``chat.completions.create`` with this module's defaults (model, messages)."""
    return client.chat.completions.create(**{**DEFAULTS, **params})


def chunks_of(client: Client, **params: Any) -> list[Any]:
    """Every chunk of a streamed completion, by plain iteration."""
    return list(create(client, stream=True, **params))


def final_of(client: Client, **params: Any) -> Any:
    """The completion the SDK's ``chat.completions.stream`` helper assembles."""
    with client.chat.completions.stream(**{**DEFAULTS, **params}) as stream:
        return stream.get_final_completion()


def content_of(chunks: list[Any]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def sent(upstream: FakeUpstream) -> dict[str, Any]:
    """The one request the fake received, as JSON."""
    (request,) = upstream.requests
    assert request.path == "/v1/messages"
    return request.json


def text(content: str) -> dict[str, Any]:
    return {"type": "text", "text": content}


def tool_use(id_: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": id_, "name": name, "input": arguments}


# --- text, stream, usage, routing -----------------------------------------------------------------


def test_text_request_is_translated_and_the_answer_comes_back(client: Client, upstream: FakeUpstream) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hello!"},
        {"role": "assistant", "content": "Hi! How can I help?"},
        {"role": "developer", "content": [text("Answer in French.")]},
        {"role": "user", "content": "Say hello again."},
    ]
    reply = create(
        client, messages=messages, temperature=0.5, top_p=0.9, stop="END", user="user-42",
        presence_penalty=0.5, frequency_penalty=0.2, seed=7,
    )  # fmt: skip
    assert (reply.object, reply.id, reply.model) == ("chat.completion", "msg_01XumvpCiUsmbzilMS7iPp5w", MODEL)
    choice = reply.choices[0]
    assert (choice.message.role, choice.message.content) == ("assistant", FAKE_TEXT)
    assert choice.finish_reason == "stop"
    usage = reply.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (31, 19, 50)
    (request,) = upstream.requests
    assert request.headers["x-api-key"] == ANTHROPIC_KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in request.headers
    assert request.json == {  # penalties and seed dropped; max_tokens defaulted; system merged in order
        "model": MODEL,
        "max_tokens": 4096,
        "messages": [
            {"role": "user", "content": [text("Hello!")]},
            {"role": "assistant", "content": [text("Hi! How can I help?")]},
            {"role": "user", "content": [text("Say hello again.")]},
        ],
        "system": [text("Be brief."), text("Answer in French.")],
        "metadata": {"user_id": "user-42"},
        "stop_sequences": ["END"],
        "temperature": 0.5,
        "top_p": 0.9,
    }


def test_max_completion_tokens_and_a_stop_list(client: Client, upstream: FakeUpstream) -> None:
    create(client, max_completion_tokens=123, stop=["END", "###"])
    body = sent(upstream)
    assert (body["max_tokens"], body["stop_sequences"]) == (123, ["END", "###"])


def test_stream_iteration_with_usage(client: Client, upstream: FakeUpstream) -> None:
    chunks = chunks_of(client, max_tokens=100, stream_options={"include_usage": True})
    heads = {(c.id, c.object, c.model) for c in chunks}
    assert heads == {("msg_01hYQiMHgtDvIPzmCcwc94Zp", "chat.completion.chunk", MODEL)}
    assert chunks[0].choices[0].delta.role == "assistant"
    assert content_of(chunks) == FAKE_TEXT
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert [f for f in finishes if f] == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (31, 19)
    assert all(c.usage is None for c in chunks[:-1])
    body = sent(upstream)
    assert body["stream"] is True and body["max_tokens"] == 100
    assert "stream_options" not in body


def test_stream_without_include_usage_has_no_usage_chunk(client: Client, upstream: FakeUpstream) -> None:
    chunks = chunks_of(client)
    assert all(c.choices for c in chunks) and all(c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_stream_helper_final_completion(client: Client, upstream: FakeUpstream) -> None:
    final = final_of(client)
    assert final.choices[0].message.content == FAKE_TEXT
    assert final.choices[0].finish_reason == "stop"


def test_prefix_route_strips_the_provider(client: Client, upstream: FakeUpstream) -> None:
    reply = create(client, model="anthropic/claude-opus-4-1")
    assert sent(upstream)["model"] == "claude-opus-4-1"
    assert reply.model == "claude-opus-4-1"  # no alias on a prefix route: the upstream's model


def test_cached_tokens_are_reported_both_ways(client: Client, upstream: FakeUpstream) -> None:
    upstream.script(json_fixture("anthropic/message_prompt_cache.json"))
    usage = create(client).usage
    # Anthropic's input_tokens exclude cache reads and writes; OpenAI's prompt_tokens include them.
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (1525, 40, 1565)
    assert usage.prompt_tokens_details.cached_tokens == 1200
    upstream.reset().script(sse_fixture("anthropic/stream_stop_sequence_prompt_cache.sse"))
    chunks = chunks_of(client, stream_options={"include_usage": True})
    usage = chunks[-1].usage
    assert (usage.prompt_tokens, usage.completion_tokens) == (1525, 7)
    assert usage.prompt_tokens_details.cached_tokens == 1200
    assert content_of(chunks) == "1, 2, 3"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("stop_sequence", "stop"),
        ("refusal", "content_filter"),
        ("end_turn", "stop"),
        ("pause_turn", "stop"),
    ],
)
def test_stop_reason_becomes_finish_reason(
    client: Client, upstream: FakeUpstream, stop_reason: str, finish_reason: str
) -> None:
    reason = b'"stop_reason":"%s"' % stop_reason.encode()
    body = fixture("anthropic/message_text.json").replace(b'"stop_reason":"end_turn"', reason)
    upstream.script(Reply(200, body))
    assert create(client).choices[0].finish_reason == finish_reason


def test_blocks_openai_cannot_hold_are_left_out(client: Client, upstream: FakeUpstream) -> None:
    upstream.script(json_fixture("anthropic/message_server_tool_citations.json"))
    message = create(client).choices[0].message
    assert message.content == "It is sunny in Paris." and message.tool_calls is None
    upstream.reset().script(sse_fixture("anthropic/stream_citations_unknown_event.sse"))
    chunks = chunks_of(client, stream_options={"include_usage": True})
    assert content_of(chunks) == "It is sunny."
    usage = chunks[-1].usage
    assert (usage.prompt_tokens, usage.prompt_tokens_details.cached_tokens) == (1525, 1200)


# --- tools ----------------------------------------------------------------------------------------


def test_tool_history_and_parallel_calls(client: Client, upstream: FakeUpstream) -> None:
    request = json.loads(fixture("openai/request_tool_history.json"))
    del request["stream"], request["stream_options"]
    upstream.script(json_fixture("anthropic/message_tool_use_parallel.json"))
    choice = create(client, **{**request, "model": MODEL}).choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    calls = choice.message.tool_calls
    assert [(c.id, c.type, c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("toolu_01zWIYCwLijOQw2BCP2lrnSz", "function", "get_weather", PARIS),
        ("toolu_01Zxed9IEFJ7UPJYcPSr0805", "function", "get_time", TOKYO),
    ]
    body = sent(upstream)
    weather, clock = (call["id"] for call in request["messages"][2]["tool_calls"])
    assert body["messages"] == [
        {"role": "user", "content": [text("Weather in Paris for 3 days, and the time in Tokyo?")]},
        # arguments strings become input objects, ids are kept
        {"role": "assistant", "content": [
            tool_use(weather, "get_weather", PARIS), tool_use(clock, "get_time", TOKYO),
        ]},
        {"role": "user", "content": [  # consecutive tool messages: one user turn, in order
            {"type": "tool_result", "tool_use_id": weather, "content": [text("Sunny, 18°C, wind 10 km/h")]},
            {"type": "tool_result", "tool_use_id": clock, "content": [text("21:04"), text("JST")]},
        ]},
        {"role": "assistant", "content": [text("Paris: sunny, 18°C. Tokyo: 21:04.")]},
        {"role": "user", "content": [text("Thanks! And tomorrow?")]},
    ]  # fmt: skip
    assert body["system"] == [text("You are a travel assistant. Use the tools."), text("Answer in one line.")]
    weather_fn, time_fn = (tool["function"] for tool in request["tools"])
    assert body["tools"] == [
        {"name": "get_weather", "description": weather_fn["description"],
         "input_schema": weather_fn["parameters"], "strict": True},
        {"name": "get_time", "input_schema": time_fn["parameters"]},
    ]  # fmt: skip
    assert body["tool_choice"] == {"type": "auto"}
    assert (body["max_tokens"], body["temperature"]) == (512, 0.2)


def test_tool_results_then_user_text_make_one_user_turn(client: Client, upstream: FakeUpstream) -> None:
    function = {"name": "get_weather", "arguments": '{"city":"Paris"}'}
    call = {"id": "call_1", "type": "function", "function": function}
    messages = [
        *HELLO,
        {"role": "assistant", "content": "Checking.", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "Sunny"},
        {"role": "user", "content": "And tomorrow?"},
    ]
    create(client, messages=messages, tools=[WEATHER])
    result = {"type": "tool_result", "tool_use_id": "call_1", "content": [text("Sunny")]}
    assert sent(upstream)["messages"][1:] == [
        {"role": "assistant", "content": [text("Checking."), tool_use("call_1", "get_weather", PARIS_ONLY)]},
        {"role": "user", "content": [result, text("And tomorrow?")]},  # roles alternate; results first
    ]


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        ("auto", None, {"type": "auto"}),
        ("required", None, {"type": "any"}),
        ("none", None, {"type": "none"}),
        (NAMED, None, {"type": "tool", "name": "get_weather"}),
        ("auto", False, {"type": "auto", "disable_parallel_tool_use": True}),
        ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
    ],
)
def test_tool_choice_and_parallel_tool_calls_are_mapped(
    client: Client, upstream: FakeUpstream, choice: Any, parallel: bool | None, expected: dict
) -> None:
    extra = {} if parallel is None else {"parallel_tool_calls": parallel}
    create(client, tools=[WEATHER], tool_choice=choice, **extra)
    assert sent(upstream)["tool_choice"] == expected


def test_streamed_parallel_tool_calls(client: Client, upstream: FakeUpstream) -> None:
    upstream.script(sse_fixture("anthropic/stream_tool_use_parallel.sse"))
    chunks = chunks_of(client, tools=[WEATHER, TIME])
    deltas = [call for c in chunks if c.choices for call in c.choices[0].delta.tool_calls or ()]
    assert [(d.index, d.id, d.type, d.function.name) for d in deltas if d.id] == [
        (0, "toolu_01K9LWUMIwgpPRRAXuyz4eCW", "function", "get_weather"),
        (1, "toolu_01zhhpVgksAhQwtJyspt4Xxl", "function", "get_time"),
    ]
    later = [d for d in deltas if not d.id]
    assert all(d.function.name is None and d.type is None for d in later)
    assert len([d for d in later if d.index == 0]) > 5  # fragments relayed as they arrive
    arguments = ["".join(d.function.arguments or "" for d in deltas if d.index == i) for i in (0, 1)]
    assert [json.loads(a) for a in arguments] == [PARIS, TOKYO]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_stream_helper_assembles_tool_calls(client: Client, upstream: FakeUpstream) -> None:
    upstream.script(sse_fixture("anthropic/stream_tool_use_parallel.sse"))
    final = final_of(client, tools=[WEATHER, TIME])
    calls = [(c.function.name, json.loads(c.function.arguments)) for c in final.choices[0].message.tool_calls]
    assert calls == [("get_weather", PARIS), ("get_time", TOKYO)]
    assert final.choices[0].finish_reason == "tool_calls"


def test_streamed_text_then_tool_call(client: Client, upstream: FakeUpstream) -> None:
    upstream.script(sse_fixture("anthropic/stream_text_then_tool_use.sse"))
    final = final_of(client, tools=[WEATHER])
    message = final.choices[0].message
    assert message.content == "Let me look that up."
    calls = [(c.id, c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls]
    assert calls == [("toolu_01T1x4Ew8nKLcp3RwqZcfJ2h", "get_weather", {"city": "Paris"})]
    assert final.choices[0].finish_reason == "tool_calls"


def test_foreign_tool_ids_are_made_valid_and_stay_paired(client: Client, upstream: FakeUpstream) -> None:
    # A Kimi conversation (ids like "functions.get_weather:0") continued on Claude, which refuses
    # ids outside [a-zA-Z0-9_-].
    kimi = json.loads(fixture("openai/chat_kimi_tool_call_ids.json"))["choices"][0]["message"]
    messages = [
        *HELLO,
        {"role": "assistant", "content": kimi["content"], "tool_calls": kimi["tool_calls"]},
        {"role": "tool", "tool_call_id": "functions.get_weather:0", "content": "Sunny"},
        {"role": "tool", "tool_call_id": "functions.get_time:1", "content": "21:04"},
        {"role": "user", "content": "Thanks. Summarise."},
    ]
    create(client, messages=messages, tools=[WEATHER, TIME])
    assistant, results = sent(upstream)["messages"][1:3]
    uses = [block["id"] for block in assistant["content"]]
    assert len(set(uses)) == 2 and all(VALID_TOOL_ID.fullmatch(i) for i in uses)
    assert [block.get("tool_use_id") for block in results["content"]] == [*uses, None]
    assert results["content"][2] == text("Thanks. Summarise.")


# --- images, documents, refused parameters --------------------------------------------------------


def test_images_become_base64_and_url_sources(client: Client, upstream: FakeUpstream) -> None:
    url = "https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg"
    content = [
        text("Compare these."),
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}", "detail": "high"}},
        {"type": "image_url", "image_url": {"url": url}},
    ]
    create(client, messages=[{"role": "user", "content": content}])
    assert sent(upstream)["messages"][0]["content"] == [
        text("Compare these."),
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": url}},
    ]


PDF = {"type": "file", "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERi0xLjQK"}}
AUDIO = {"type": "input_audio", "input_audio": {"data": "UklGRiQAAABXQVZF", "format": "wav"}}


@pytest.mark.parametrize(("part", "kind"), [(PDF, "file"), (AUDIO, "input_audio")])
def test_parts_without_an_anthropic_equivalent_are_refused(
    client: Client, upstream: FakeUpstream, part: dict, kind: str
) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        create(client, messages=[{"role": "user", "content": [text("Summarise."), part]}])
    assert kind in info.value.message
    assert upstream.requests == []


@pytest.mark.parametrize(
    ("params", "name"),
    [({"n": 2}, "n"), ({"logprobs": True}, "logprobs"), ({"top_logprobs": 3}, "top_logprobs")],
)
def test_parameters_whose_loss_changes_the_answer_are_refused(
    client: Client, upstream: FakeUpstream, params: dict, name: str
) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        create(client, **params)
    assert info.value.param == name and name in info.value.message
    assert upstream.requests == []


# --- thinking -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("effort", "budget"), [("low", 2048), ("medium", 8192), ("high", 16384)])
def test_reasoning_effort_becomes_a_thinking_budget(
    client: Client, upstream: FakeUpstream, effort: str, budget: int
) -> None:
    create(client, reasoning_effort=effort, max_completion_tokens=20000, temperature=0.5)
    body = sent(upstream)
    assert body["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert body["max_tokens"] == 20000
    assert "temperature" not in body  # Anthropic refuses a temperature other than 1 with thinking
    assert "reasoning_effort" not in body


def test_reasoning_effort_none_disables_thinking(client: Client, upstream: FakeUpstream) -> None:
    create(client, reasoning_effort="none", temperature=0.5)
    body = sent(upstream)
    assert body["thinking"] == {"type": "disabled"} and body["temperature"] == 0.5


def test_forced_tool_use_leaves_thinking_out(client: Client, upstream: FakeUpstream) -> None:
    # Anthropic refuses thinking with a tool_choice that forces tool use: the reasoning hint goes.
    create(client, reasoning_effort="low", tools=[WEATHER], tool_choice="required")
    body = sent(upstream)
    assert "thinking" not in body and body["tool_choice"] == {"type": "any"}


def test_max_tokens_below_the_budget_still_bounds_the_answer(client: Client, upstream: FakeUpstream) -> None:
    create(client, reasoning_effort="low", max_tokens=1000)
    body = sent(upstream)
    assert body["thinking"]["budget_tokens"] == 2048 and body["max_tokens"] == 3048


def test_thinking_block_becomes_reasoning_content(client: Client, upstream: FakeUpstream) -> None:
    upstream.script(json_fixture("anthropic/message_thinking.json"))
    message = create(client, reasoning_effort="low").choices[0].message
    assert message.content == FAKE_TEXT
    assert message.model_extra["reasoning_content"] == "The user wants a greeting. I will answer briefly."


def test_streamed_thinking_becomes_reasoning_content_deltas(client: Client, upstream: FakeUpstream) -> None:
    upstream.script(sse_fixture("anthropic/stream_thinking.sse"))
    chunks = chunks_of(client, reasoning_effort="low")
    reasoning = [(c.choices[0].delta.model_extra or {}).get("reasoning_content") for c in chunks if c.choices]
    assert "".join(r or "" for r in reasoning) == "The user wants a greeting. I will answer briefly."
    assert content_of(chunks) == FAKE_TEXT
    first_text = next(i for i, c in enumerate(c for c in chunks if c.choices) if c.choices[0].delta.content)
    assert not any(reasoning[first_text:])  # the reasoning comes first, then the answer


# --- errors ---------------------------------------------------------------------------------------


def test_upstream_rate_limit_is_a_rate_limit_error(client: Client, upstream: FakeUpstream) -> None:
    upstream.script(error(429, protocol="anthropic", retry_after=3), error(429, protocol="anthropic"))
    with pytest.raises(openai.RateLimitError) as info:
        create(client)
    assert "per-minute rate limit" in info.value.message
    assert info.value.body["type"] == "rate_limit_error"
    assert info.value.response.headers["retry-after"] == "3"
    with pytest.raises(openai.RateLimitError):  # before the first byte of a stream: the same
        chunks_of(client)


@pytest.mark.parametrize(("status", "client_status"), [(500, 502), (529, 503)])
def test_upstream_server_errors(
    client: Client, upstream: FakeUpstream, status: int, client_status: int
) -> None:
    upstream.script(error(status, protocol="anthropic"), error(status, protocol="anthropic"))
    with pytest.raises(openai.InternalServerError) as info:
        create(client)
    assert info.value.status_code == client_status
    with pytest.raises(openai.InternalServerError) as info:
        final_of(client)
    assert info.value.status_code == client_status


@pytest.mark.parametrize(
    ("status", "error_class"),
    [(400, openai.BadRequestError), (401, openai.AuthenticationError), (413, openai.APIStatusError)],
)
def test_other_upstream_statuses(
    client: Client, upstream: FakeUpstream, status: int, error_class: type
) -> None:
    upstream.script(error(status, protocol="anthropic"))
    with pytest.raises(error_class) as info:
        create(client)
    assert info.value.status_code == status
    if status == 400:
        assert info.value.body["message"] == "max_tokens: Field required"  # the upstream's own words
    if status == 401:
        assert "anthropic" in info.value.message and ANTHROPIC_KEY not in info.value.message


def test_stream_cut_midway_ends_with_an_error_payload(client: Client, upstream: FakeUpstream) -> None:
    upstream.script(sse_fixture("anthropic/stream_text.sse", cut_after=5))
    seen: list[Any] = []
    with pytest.raises(openai.APIError) as info:
        seen.extend(create(client, stream=True))
    assert seen and seen[0].choices[0].delta.role == "assistant"
    assert not any(c.choices and c.choices[0].finish_reason for c in seen)
    assert info.value.body["type"] == "server_error"


@pytest.mark.parametrize("how", ["cut_after", "end_after"])
def test_stream_ending_early_never_hangs(client: Client, upstream: FakeUpstream, how: str) -> None:
    upstream.script(sse_fixture("anthropic/stream_tool_use_parallel.sse", **{how: 8}))
    started = time.monotonic()
    with pytest.raises(openai.APIError) as info:
        final_of(client, tools=[WEATHER])
    assert info.value.body["type"] == "server_error"
    assert time.monotonic() - started < 2.5  # noticed at once, not after the 3 s idle timeout


def test_upstream_error_event_midstream(client: Client, upstream: FakeUpstream) -> None:
    upstream.script(sse_fixture("anthropic/stream_midstream_error.sse"))
    with pytest.raises(openai.APIError) as info:
        final_of(client)
    assert info.value.message == "Overloaded (scripted MIDERR)"
    assert info.value.body["type"] == "service_unavailable_error"


def test_stream_is_relayed_as_it_arrives(client: Client, upstream: FakeUpstream) -> None:
    upstream.script(sse_fixture("anthropic/stream_text.sse", stall_after=5, stall_seconds=1.0))
    chunks = create(client, stream=True)
    first_text = next(c for c in chunks if c.choices and c.choices[0].delta.content)
    sent_so_far = upstream.requests[0].frames_sent
    list(chunks)
    assert first_text.choices[0].delta.content == "Hello from the fake"
    assert sent_so_far <= 5  # the client had it before the upstream went past its pause: nothing buffered
