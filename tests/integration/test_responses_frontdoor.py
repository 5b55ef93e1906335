"""The Responses API on an OpenAI frontdoor, through the ASGI app: mounted next to chat
completions, on every provider via the IR, with stored turns for previous_response_id."""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
import pytest
from litestar.testing import AsyncTestClient
from structlog.testing import capture_logs

from adapters.state.conversations_redis import DEFAULT_PREFIX
from app.asgi import build_asgi
from tests.conftest import fixture_bytes
from tests.integration.conftest import ANTHROPIC_URL, OPENAI_URL, config_for, sse
from tests.integration.upstream import UpstreamMock
from tests.redis_db import REDIS_URL, redis_or_skip

URL = "/openai/v1/responses"


def sent(scripted: UpstreamMock, index: int = -1) -> dict:
    return msgspec.json.decode(scripted.get_requests()[index].content)


async def test_a_text_turn_on_a_chat_completions_provider(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    scripted.add_response(url=OPENAI_URL, content=fixture_bytes("openai/chat_text.json"))
    response = await gateway.post(URL, json={"model": "gpt-4o-mini", "input": "Hi", "instructions": "Be brief."})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "response" and body["status"] == "completed"
    assert body["id"].startswith("resp_")
    assert body["output"][0]["type"] == "message"
    assert sent(scripted)["messages"][0] == {"role": "system", "content": "Be brief."}


async def test_previous_response_id_carries_the_turn_to_another_provider(
    gateway: AsyncTestClient, scripted: UpstreamMock
) -> None:
    scripted.add_response(url=ANTHROPIC_URL, content=fixture_bytes("anthropic/message_text.json"))
    first = await gateway.post(
        URL, json={"model": "claude-sonnet-4-5", "input": "Hi", "instructions": "Only this turn."}
    )
    assert first.status_code == 200, first.text
    scripted.add_response(url=OPENAI_URL, content=fixture_bytes("openai/chat_text.json"))
    second = await gateway.post(
        URL, json={"model": "gpt-4o-mini", "input": "And then?", "previous_response_id": first.json()["id"]}
    )
    assert second.status_code == 200, second.text
    messages = sent(scripted)["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]  # no first-turn instructions
    assert messages[1]["content"] == first.json()["output"][0]["content"][0]["text"]

    got = await gateway.get(f"{URL}/{second.json()['id']}")
    assert got.status_code == 200 and got.json() == second.json()
    gone = await gateway.delete(f"{URL}/{second.json()['id']}")
    assert gone.status_code == 200
    assert gone.json() == {"id": second.json()["id"], "object": "response", "deleted": True}
    assert (await gateway.get(f"{URL}/{second.json()['id']}")).status_code == 404


async def test_a_stream_stores_its_turn_before_the_final_event(
    gateway: AsyncTestClient, scripted: UpstreamMock
) -> None:
    scripted.add_response(url=ANTHROPIC_URL, stream=sse(fixture_bytes("anthropic/stream_text.sse")))
    async with gateway.stream("POST", URL, json={"model": "claude-sonnet-4-5", "input": "Hi", "stream": True}) as r:
        assert r.status_code == 200
        raw = b"".join([chunk async for chunk in r.aiter_bytes()])
    last = raw.strip().split(b"\n\n")[-1]
    assert last.startswith(b"event: response.completed")
    final = msgspec.json.decode(last.partition(b"data: ")[2])["response"]
    got = await gateway.get(f"{URL}/{final['id']}")
    assert got.status_code == 200 and got.json()["output"] == final["output"]


async def test_store_false_keeps_nothing(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    scripted.add_response(url=OPENAI_URL, content=fixture_bytes("openai/chat_text.json"))
    response = await gateway.post(URL, json={"model": "gpt-4o-mini", "input": "Hi", "store": False})
    assert response.status_code == 200 and response.json()["store"] is False
    assert (await gateway.get(f"{URL}/{response.json()['id']}")).status_code == 404


async def test_unknown_ids_are_404_in_openai_shape(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    follow = await gateway.post(URL, json={"model": "gpt-4o-mini", "input": "x", "previous_response_id": "resp_nope"})
    assert follow.status_code == 404
    error = follow.json()["error"]
    assert error["param"] == "previous_response_id" and "resp_nope" in error["message"]
    assert error["type"] == "invalid_request_error"
    for method in ("GET", "DELETE"):
        answer = await gateway.request(method, f"{URL}/resp_nope")
        assert answer.status_code == 404 and "resp_nope" in answer.json()["error"]["message"]


async def test_upstream_errors_keep_openai_shape_and_status(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    scripted.add_response(url=ANTHROPIC_URL, status_code=429, content=fixture_bytes("anthropic/error_429.json"))
    response = await gateway.post(URL, json={"model": "claude-sonnet-4-5", "input": "Hi"})
    assert response.status_code == 429
    assert response.json()["error"]["type"] == "rate_limit_error"


async def test_hosted_tools_are_dropped_with_a_log_line(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    scripted.add_response(url=ANTHROPIC_URL, content=fixture_bytes("anthropic/message_text.json"))
    tools = [
        {"type": "web_search"},
        {"type": "namespace", "name": "ns", "tools": []},
        {"type": "function", "name": "shell", "parameters": {"type": "object", "properties": {}}},
    ]
    with capture_logs() as logs:
        response = await gateway.post(URL, json={"model": "claude-sonnet-4-5", "input": "Hi", "tools": tools})
    assert response.status_code == 200, response.text
    assert [t["name"] for t in sent(scripted)["tools"]] == ["shell"]
    dropped = [line for line in logs if line.get("event") == "request.param_dropped"]
    assert dropped and dropped[0]["params"] == ["tools[0]:web_search", "tools[1]:namespace"]


# --- an upstream that speaks the Responses API itself (responses: true) ---------------------------

RELAY_URL = "http://oairesp.test/v1/responses"
RELAY_CONFIG = """
server: {http_client: httpx}
apps:
  - {name: oa, frontdoor: openai, path: /openai}
providers:
  - {name: oairesp, type: openai, api_key: sk-relay-secret, base_url: "http://oairesp.test/v1", responses: true,
     retries: {attempts: 1}, circuit_breaker: {enabled: false}}
  - {name: anthropic, type: anthropic, api_key: sk-ant-relay-secret, base_url: "http://anthropic.test",
     retries: {attempts: 1}, circuit_breaker: {enabled: false}}
routing:
  rules:
    - {model_prefix: claude, provider: anthropic}
  default_provider: oairesp
"""


@pytest.fixture
async def relay(scripted: UpstreamMock, http_client: str) -> AsyncIterator[AsyncTestClient]:
    app = build_asgi(config_for(RELAY_CONFIG, scripted, http_client))
    async with AsyncTestClient(app=app) as client:
        yield client


async def test_a_responses_upstream_gets_the_body_as_sent_and_its_answer_is_relayed(
    relay: AsyncTestClient, scripted: UpstreamMock
) -> None:
    upstream = msgspec.json.decode(fixture_bytes("openai_responses/response_openai_reasoning_function_call.json"))
    upstream["x_unmodelled"] = {"kept": [1]}
    scripted.add_response(url=RELAY_URL, json=upstream)
    body = {"model": "gpt-5-mini", "input": "Weather?", "x_vendor_flag": {"deep": True}, "include": ["reasoning.encrypted_content"]}
    response = await relay.post(URL, json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["id"] != upstream["id"] and answer["id"].startswith("resp_")
    assert answer["x_unmodelled"] == {"kept": [1]}
    assert answer["output"] == upstream["output"]
    sent_body = sent(scripted)
    assert sent_body["x_vendor_flag"] == {"deep": True} and sent_body["include"] == ["reasoning.encrypted_content"]
    assert sent_body["input"] == [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Weather?"}]}]
    assert scripted.get_requests()[-1].headers["authorization"] == "Bearer sk-relay-secret"


async def test_a_relayed_stream_keeps_the_upstream_events_under_the_gateway_id_and_stores_the_turn(
    relay: AsyncTestClient, scripted: UpstreamMock
) -> None:
    scripted.add_response(url=RELAY_URL, stream=sse(fixture_bytes("openai_responses/stream_openai_function_call.sse")))
    async with relay.stream("POST", URL, json={"model": "gpt-4.1", "input": "Weather?", "stream": True}) as r:
        assert r.status_code == 200
        raw = b"".join([chunk async for chunk in r.aiter_bytes()])
    upstream = [f for f in fixture_bytes("openai_responses/stream_openai_function_call.sse").split(b"\n\n") if f.strip()]
    frames = [f for f in raw.split(b"\n\n") if f.strip()]
    assert len(frames) == len(upstream)
    events = [msgspec.json.decode(f.partition(b"data: ")[2]) for f in frames]
    ids = {e["response"]["id"] for e in events if "response" in e}
    assert len(ids) == 1 and b"resp_68d60f2a" not in raw  # the upstream's id is never shown
    assert [e["type"] for e in events] == [msgspec.json.decode(f.partition(b"data: ")[2])["type"] for f in upstream]
    final = events[-1]["response"]
    got = await relay.get(f"{URL}/{final['id']}")
    assert got.status_code == 200 and got.json()["output"] == final["output"]


async def test_reasoning_sealed_for_anthropic_does_not_go_to_openai(relay: AsyncTestClient, scripted: UpstreamMock) -> None:
    scripted.add_response(url=ANTHROPIC_URL, content=fixture_bytes("anthropic/message_thinking.json"))
    first = await relay.post(URL, json={"model": "claude-sonnet-4-5", "input": "Think.", "reasoning": {"effort": "low"}})
    assert first.status_code == 200, first.text
    assert any(item["type"] == "reasoning" for item in first.json()["output"])
    upstream = msgspec.json.decode(fixture_bytes("openai_responses/response_openai_reasoning_function_call.json"))
    scripted.add_response(url=RELAY_URL, json=upstream)
    second = await relay.post(URL, json={"model": "gpt-5-mini", "input": "Go on.", "previous_response_id": first.json()["id"]})
    assert second.status_code == 200, second.text
    sent_body = sent(scripted)
    assert "previous_response_id" not in sent_body
    assert [item.get("type") for item in sent_body["input"]] == ["message", "message", "message"]


# --- state.redis_url: every replica finds every stored turn ---------------------------------------


async def test_with_redis_a_turn_stored_by_one_replica_is_continued_by_another(
    scripted: UpstreamMock, http_client: str
) -> None:
    admin = await redis_or_skip()
    text = RELAY_CONFIG.replace("server: {http_client: httpx}", f"server: {{http_client: httpx}}\nstate: {{redis_url: '{REDIS_URL}'}}")
    stored: list[str] = []
    try:
        async with AsyncTestClient(app=build_asgi(config_for(text, scripted, http_client))) as one:
            scripted.add_response(url=ANTHROPIC_URL, content=fixture_bytes("anthropic/message_text.json"))
            first = await one.post(URL, json={"model": "claude-sonnet-4-5", "input": "Hi"})
            assert first.status_code == 200, first.text
            stored.append(first.json()["id"])
        async with AsyncTestClient(app=build_asgi(config_for(text, scripted, http_client))) as two:
            scripted.add_response(url=ANTHROPIC_URL, content=fixture_bytes("anthropic/message_text.json"))
            second = await two.post(
                URL, json={"model": "claude-sonnet-4-5", "input": "More", "previous_response_id": stored[0]}
            )
            assert second.status_code == 200, second.text
            stored.append(second.json()["id"])
            assert [m["role"] for m in sent(scripted)["messages"]] == ["user", "assistant", "user"]
            assert (await two.get(f"{URL}/{stored[0]}")).json()["id"] == stored[0]
        ttl = await admin.pttl(DEFAULT_PREFIX + stored[0])
        assert 0 < ttl <= 30 * 24 * 3600 * 1000
    finally:
        for response_id in stored:
            await admin.delete(DEFAULT_PREFIX + response_id)
        await admin.aclose()
