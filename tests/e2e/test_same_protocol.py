"""Official SDKs against the real server, same protocol on both sides (fake upstream)."""

from __future__ import annotations

import anthropic
import openai
import pytest

from tests.e2e.conftest import ANTHROPIC_KEY, OPENAI_KEY, Gateway
from tests.fakes.upstream import FakeUpstream, error, json_fixture, sse_fixture

HELLO = [{"role": "user", "content": "Hello!"}]


def test_openai_sdk_non_stream(gateway: Gateway, upstream: FakeUpstream) -> None:
    reply = gateway.openai().chat.completions.create(model="gpt-4o-mini", messages=HELLO, temperature=0.3)
    assert reply.choices[0].message.content.startswith("Hello from the fake upstream!")
    assert reply.usage.total_tokens == 40
    (request,) = upstream.requests
    assert request.path == "/v1/chat/completions"
    assert request.json["temperature"] == 0.3
    assert request.headers["authorization"] == f"Bearer {OPENAI_KEY}"


def test_openai_sdk_stream_with_usage(gateway: Gateway, upstream: FakeUpstream) -> None:
    stream = gateway.openai().chat.completions.create(
        model="gpt-4o-mini", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("Hello from the fake upstream!") and text.endswith("The end.")
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_openai_sdk_alias_is_reported(gateway: Gateway, upstream: FakeUpstream) -> None:
    reply = gateway.openai().chat.completions.create(model="claude-haiku-4.5", messages=HELLO)
    assert reply.model == "claude-haiku-4.5"
    assert upstream.requests[0].json["model"] == "gpt-5-mini"
    chunks = list(gateway.openai().chat.completions.create(model="claude-haiku-4.5", messages=HELLO, stream=True))
    assert {c.model for c in chunks} == {"claude-haiku-4.5"}


def test_openai_sdk_parallel_tools_stream(gateway: Gateway, upstream: FakeUpstream) -> None:
    upstream.script(sse_fixture("openai/stream_tool_calls_parallel.sse"))
    tools = [{"type": "function", "function": {"name": n, "parameters": {"type": "object"}}} for n in ("get_weather", "get_time")]
    with gateway.openai().chat.completions.stream(model="gpt-4o-mini", messages=HELLO, tools=tools) as stream:
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    assert final.choices[0].finish_reason == "tool_calls"


def test_openai_sdk_models(gateway: Gateway, upstream: FakeUpstream) -> None:
    ids = [m.id for m in gateway.openai().models.list()]
    assert "claude-haiku-4.5" in ids


def test_openai_sdk_upstream_rate_limit(gateway: Gateway, upstream: FakeUpstream) -> None:
    upstream.script(error(429, retry_after=1))
    with pytest.raises(openai.RateLimitError) as info:
        gateway.openai().chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert "Rate limit reached" in info.value.message


def test_openai_sdk_bad_request(gateway: Gateway, upstream: FakeUpstream) -> None:
    with pytest.raises(openai.BadRequestError):
        gateway.openai().chat.completions.create(model="gpt-4o-mini", messages="nope")  # type: ignore[arg-type]
    assert upstream.requests == []


def test_anthropic_sdk_non_stream(gateway: Gateway, upstream: FakeUpstream) -> None:
    message = gateway.anthropic().messages.create(model="claude-3-5-haiku", max_tokens=100, messages=HELLO)
    assert message.content[0].text.startswith("Hello from the fake upstream!")
    assert message.stop_reason == "end_turn"
    (request,) = upstream.requests
    assert request.path == "/v1/messages"
    assert request.headers["x-api-key"] == ANTHROPIC_KEY
    assert "authorization" not in request.headers


def test_anthropic_sdk_stream_helper(gateway: Gateway, upstream: FakeUpstream) -> None:
    upstream.script(sse_fixture("anthropic/stream_thinking.sse"))
    with gateway.anthropic().messages.stream(model="claude-3-7-sonnet", max_tokens=2000, messages=HELLO) as stream:
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].signature
    assert final.usage.output_tokens == 19


def test_anthropic_sdk_beta_headers_reach_upstream(gateway: Gateway, upstream: FakeUpstream) -> None:
    gateway.anthropic().messages.create(
        model="claude-3-5-haiku", max_tokens=10, messages=HELLO,
        extra_headers={"anthropic-beta": "interleaved-thinking-2025-05-14", "anthropic-version": "2024-01-01"},
    )
    assert upstream.requests[0].headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    assert upstream.requests[0].headers["anthropic-version"] == "2024-01-01"  # the client's, not our default


def test_anthropic_sdk_overloaded(gateway: Gateway, upstream: FakeUpstream) -> None:
    upstream.script(error(529, protocol="anthropic"))
    with pytest.raises(anthropic.APIStatusError) as info:
        gateway.anthropic().messages.create(model="claude-3-5-haiku", max_tokens=10, messages=HELLO)
    assert info.value.status_code == 529
    assert isinstance(info.value, anthropic.OverloadedError)


def test_anthropic_sdk_parallel_tools(gateway: Gateway, upstream: FakeUpstream) -> None:
    upstream.script(json_fixture("anthropic/message_tool_use_parallel.json"))
    message = gateway.anthropic().messages.create(model="claude-3-5-haiku", max_tokens=100, messages=HELLO)
    assert [b.name for b in message.content if b.type == "tool_use"] == ["get_weather", "get_time"]


def test_anthropic_sdk_count_tokens(gateway: Gateway, upstream: FakeUpstream) -> None:
    count = gateway.anthropic().messages.count_tokens(model="claude-3-5-haiku", messages=HELLO)
    assert count.input_tokens == 31
    assert upstream.requests[0].path == "/v1/messages/count_tokens"
