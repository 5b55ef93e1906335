"""The official OpenAI SDK's Responses and embeddings clients against the real gateway process,
in front of the local fakes: an Anthropic-protocol upstream (``claude*`` models) and a
Chat-Completions-only one (``gpt*`` models).

Each test checks both sides: what the SDK made of the answer (its own models validate every
event and object), and what the upstream received.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import msgspec
import openai
import pytest
from pydantic import BaseModel

from tests.e2e.conftest import Gateway
from tests.fakes.upstream import FakeUpstream, Reply, fixture

CLAUDE = "claude-3-5-haiku"  # routed to the anthropic provider (claude-sonnet-* is an alias)
GPT = "gpt-4o-mini"
FAKE_TEXT = json.loads(fixture("anthropic/message_text.json"))["content"][0]["text"]
OPENAI_TEXT = json.loads(fixture("openai/chat_text.json"))["choices"][0]["message"]["content"]
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
}


def anthropic_reply(*content: dict[str, Any], stop: str = "end_turn") -> Reply:
    body = {
        "id": "msg_e2e", "type": "message", "role": "assistant", "model": CLAUDE,
        "content": list(content), "stop_reason": stop, "stop_sequence": None,
        "usage": {"input_tokens": 21, "output_tokens": 9},
    }  # fmt: skip
    return Reply(200, msgspec.json.encode(body))


@pytest.fixture
def client(gateway: Gateway) -> openai.OpenAI:
    return gateway.openai()


def anthropic_requests(upstream: FakeUpstream) -> list[dict[str, Any]]:
    return [r.json for r in upstream.requests if r.path == "/v1/messages"]


def test_text(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    response = client.responses.create(model=CLAUDE, input="Hello!", instructions="Be brief.")
    assert response.status == "completed"
    assert response.output_text == FAKE_TEXT
    assert response.usage is not None and response.usage.output_tokens > 0
    (sent,) = anthropic_requests(upstream)
    assert sent["system"] in ("Be brief.", [{"type": "text", "text": "Be brief."}])
    assert sent["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Hello!"}]}]


def test_tool_round_trip(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    call = {"type": "tool_use", "id": "toolu_e2e", "name": "get_weather", "input": {"city": "Paris"}}
    upstream.script_for("/v1/messages", anthropic_reply(call, stop="tool_use"))
    first = client.responses.create(model=CLAUDE, input="Weather in Paris?", tools=[WEATHER], store=False)
    (function_call,) = [item for item in first.output if item.type == "function_call"]
    assert function_call.name == "get_weather" and json.loads(function_call.arguments) == {"city": "Paris"}

    upstream.script_for("/v1/messages", anthropic_reply({"type": "text", "text": "Rainy, 12°C."}))
    result = {"type": "function_call_output", "call_id": function_call.call_id, "output": "rain, 12C"}
    history = [{"role": "user", "content": "Weather in Paris?"}, *[i.model_dump() for i in first.output], result]
    second = client.responses.create(model=CLAUDE, input=history, tools=[WEATHER], store=False)
    assert second.output_text == "Rainy, 12°C."
    last = anthropic_requests(upstream)[-1]["messages"]
    assert last[-2]["content"][-1] == {**call, "input": {"city": "Paris"}}
    assert last[-1]["content"][0]["type"] == "tool_result"
    assert last[-1]["content"][0]["tool_use_id"] == "toolu_e2e"


def test_image_input(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    content = [{"type": "input_text", "text": "What is this?"}, {"type": "input_image", "image_url": url}]
    response = client.responses.create(model=CLAUDE, input=[{"role": "user", "content": content}])
    assert response.output_text == FAKE_TEXT
    (sent,) = anthropic_requests(upstream)
    image = sent["messages"][0]["content"][1]
    assert image["type"] == "image" and image["source"]["media_type"] == "image/png"
    assert base64.b64decode(image["source"]["data"]) == PNG


class City(BaseModel):
    name: str
    population: int


def test_json_schema(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    upstream.script_for("/v1/messages", anthropic_reply({"type": "text", "text": '{"name":"Paris","population":2100000}'}))
    parsed = client.responses.parse(model=CLAUDE, input="The capital of France?", text_format=City)
    assert parsed.output_parsed == City(name="Paris", population=2100000)
    (sent,) = anthropic_requests(upstream)
    assert sent["output_config"]["format"]["type"] == "json_schema"
    assert sent["output_config"]["format"]["schema"]["properties"]["population"] == {"title": "Population", "type": "integer"}


def test_stream_accumulates_the_final_response(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    with client.responses.stream(model=CLAUDE, input="Hello!") as stream:
        deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == FAKE_TEXT == final.output_text
    assert final.status == "completed"
    stored = client.responses.retrieve(final.id)
    assert stored.output_text == FAKE_TEXT


def test_previous_response_id_across_two_providers_then_get_and_delete(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    first = client.responses.create(model=CLAUDE, input="Hello!", instructions="First turn only.")
    second = client.responses.create(model=GPT, input="And you?", previous_response_id=first.id)
    assert second.output_text == OPENAI_TEXT and second.previous_response_id == first.id
    (chat,) = [r.json for r in upstream.requests if r.path == "/v1/chat/completions"]
    assert [m["role"] for m in chat["messages"]] == ["user", "assistant", "user"]
    assert chat["messages"][1]["content"] == FAKE_TEXT

    # and back to the first provider, streamed, the whole conversation carried
    with client.responses.stream(model=CLAUDE, input="Bye.", previous_response_id=second.id) as stream:
        third = stream.get_final_response()
    messages = anthropic_requests(upstream)[-1]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]
    assert "system" not in anthropic_requests(upstream)[-1]  # instructions stay with their turn

    assert client.responses.retrieve(third.id).output_text == third.output_text
    client.responses.delete(third.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(third.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model=CLAUDE, input="x", previous_response_id=third.id)


def test_embeddings(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    upstream.script_for("/v1/embeddings", Reply(200, fixture("openai/embeddings.json")))
    result = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert [len(item.embedding) for item in result.data] == [4, 4]
    assert result.usage.prompt_tokens == 9
    (sent,) = [r for r in upstream.requests if r.path == "/v1/embeddings"]
    assert sent.json["input"] == ["a", "b"] and sent.json["model"] == "text-embedding-3-small"
    with pytest.raises(openai.BadRequestError, match="no embeddings API"):
        client.embeddings.create(model=CLAUDE, input="x")
