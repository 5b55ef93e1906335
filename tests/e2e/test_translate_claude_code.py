"""A Claude Code request (system blocks with cache_control, many tools, a tool_result history,
thinking, streaming, ``anthropic-beta`` headers, the beta endpoint) through the Anthropic
frontdoor, rewritten by the ``claude-sonnet-*`` route to an OpenAI-protocol model."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.conftest import Gateway
from tests.fakes.upstream import FakeUpstream, fixture, sse_fixture

BETAS = ["claude-code-20250219", "interleaved-thinking-2025-05-14", "fine-grained-tool-streaming-2025-05-14"]
OPENAI_PARAMS = {
    "model", "messages", "max_completion_tokens", "temperature", "top_p", "stop", "stream", "stream_options",
    "user", "tools", "tool_choice", "parallel_tool_calls", "reasoning_effort",
}  # fmt: skip


def claude_code_request() -> dict[str, Any]:
    request = json.loads(fixture("anthropic/request_claude_code.json"))
    del request["stream"]  # the stream helper sets it
    return request


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK warns about this model name
def test_claude_code_request_through_the_sonnet_rewrite(gateway: Gateway, upstream: FakeUpstream) -> None:
    request = claude_code_request()
    upstream.script(sse_fixture("openai/stream_text_then_tool.sse"))
    extra = {"temperature": request.pop("temperature")}  # the SDK has no temperature argument
    with gateway.anthropic().beta.messages.stream(**request, betas=BETAS, extra_body=extra) as stream:
        final = stream.get_final_message()
    assert final.model == request["model"]  # claude-sonnet-4-5-20250929, the alias of gpt-5-mini
    assert [b.type for b in final.content] == ["text", "tool_use"]
    assert final.content[1].input["city"] == "Paris" and final.stop_reason == "tool_use"

    (sent,) = upstream.requests
    assert sent.path == "/v1/chat/completions"
    assert "anthropic-beta" not in sent.headers and "anthropic-version" not in sent.headers
    assert b"cache_control" not in sent.body and b"signature" not in sent.body
    body = sent.json
    assert set(body) <= OPENAI_PARAMS  # no Anthropic-only field
    assert body["model"] == "gpt-5-mini"
    assert (body["max_completion_tokens"], body["temperature"]) == (32000, 1)
    assert body["reasoning_effort"] == "high"  # thinking.budget_tokens 31999
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert len(body["user"]) <= 64  # OpenAI refuses a longer user; Claude Code's user_id is longer
    functions = [tool["function"] for tool in body["tools"]]
    assert [(f["name"], f["parameters"]) for f in functions] == [
        (tool["name"], tool["input_schema"]) for tool in request["tools"]
    ]
    system, *messages = body["messages"]
    assert system == {"role": "system", "content": "\n\n".join(b["text"] for b in request["system"])}
    assert [(m["role"], m.get("tool_call_id")) for m in messages] == [
        ("user", None),
        ("assistant", None),
        ("tool", "toolu_01XFDUDYJgAACzvnptvVoYEL"),
        ("assistant", None),
        ("tool", "toolu_01Bq7nAzRnwDAqJtzKJBn1Nv"),  # tool messages right after their calls, in order
        ("tool", "toolu_01JqPv8d3TdAaqTTEZvTGhPb"),
    ]
    assert messages[1]["content"] == "I'll start by reading the failing test."  # thinking dropped
    assert messages[3]["content"] is None
    calls = messages[3]["tool_calls"]
    assert [c["id"] for c in calls] == [messages[4]["tool_call_id"], messages[5]["tool_call_id"]]
    assert [c["function"]["name"] for c in calls] == ["Bash", "Grep"]
    arguments = json.loads(calls[0]["function"]["arguments"])
    assert arguments == {"command": "pytest -q tests/test_math.py", "description": "Run the failing test"}
    assert messages[4]["content"].startswith("Error: F\nFAILED")  # is_error kept for the model


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_claude_code_count_tokens_for_the_rewritten_model(gateway: Gateway, upstream: FakeUpstream) -> None:
    request = claude_code_request()
    fields = {key: request[key] for key in ("model", "messages", "system", "tools", "thinking")}
    count = gateway.anthropic().beta.messages.count_tokens(**fields, betas=BETAS)
    assert 600 <= count.input_tokens <= 1800  # about a token per 4-7 characters of its JSON (6.6 KB)
    assert upstream.requests == []  # a local estimate: nothing is sent upstream
