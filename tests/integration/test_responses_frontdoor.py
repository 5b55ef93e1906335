"""The Responses API on an OpenAI frontdoor, through the ASGI app: mounted next to chat
completions, on every provider via the IR, with stored turns for previous_response_id."""

from __future__ import annotations

import msgspec
from litestar.testing import AsyncTestClient
from structlog.testing import capture_logs

from tests.conftest import fixture_bytes
from tests.integration.conftest import ANTHROPIC_URL, OPENAI_URL, sse
from tests.integration.upstream import UpstreamMock

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
