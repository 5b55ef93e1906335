"""The fake upstream itself: default answers, scripts, recording, thread mode."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest

from tests.conftest import fixture_bytes
from tests.fakes.upstream import FakeUpstream, Reply, error, json_fixture, sse_fixture, start_in_thread


@pytest.fixture
async def upstream() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False, timeout=2.0) as client:
        yield client


def data_payloads(body: bytes) -> list[dict | str]:
    """The ``data:`` payloads of an SSE body, JSON-decoded where they are JSON."""
    out: list[dict | str] = []
    for line in body.split(b"\n"):
        if line.startswith(b"data: "):
            data = line[6:]
            out.append(data.decode() if data == b"[DONE]" else msgspec.json.decode(data))
    return out


async def test_openai_default_answer_echoes_the_requested_model(
    upstream: FakeUpstream, http: httpx.AsyncClient
):
    request = {"model": "my-model", "messages": []}

    response = await http.post(upstream.url + "/v1/chat/completions", json=request)

    body = response.json()
    expected = msgspec.json.decode(fixture_bytes("openai/chat_text.json"))
    assert response.status_code == 200
    assert body == {**expected, "model": "my-model"}


@pytest.mark.parametrize("include_usage", [False, True])
async def test_openai_default_stream_has_a_usage_chunk_only_when_asked(
    upstream: FakeUpstream, http: httpx.AsyncClient, include_usage: bool
):
    request = {"model": "m-x", "stream": True, "messages": []}
    if include_usage:
        request["stream_options"] = {"include_usage": True}

    response = await http.post(upstream.url + "/v1/chat/completions", json=request)

    payloads = data_payloads(response.content)
    assert response.headers["content-type"].startswith("text/event-stream")
    assert payloads[-1] == "[DONE]"
    chunks = payloads[:-1]
    assert all(chunk["model"] == "m-x" for chunk in chunks)
    assert any(chunk["choices"] == [] and chunk["usage"] for chunk in chunks) is include_usage


async def test_anthropic_default_answers(upstream: FakeUpstream, http: httpx.AsyncClient):
    request = {"model": "claude-x", "max_tokens": 10, "messages": []}

    message = await http.post(upstream.url + "/v1/messages", json=request)
    stream = await http.post(upstream.url + "/v1/messages", json={**request, "stream": True})
    count = await http.post(upstream.url + "/v1/messages/count_tokens", json=request)

    assert message.json()["model"] == "claude-x"
    assert message.json()["content"][0]["type"] == "text"
    events = data_payloads(stream.content)
    assert events[0]["message"]["model"] == "claude-x"
    assert events[-1] == {"type": "message_stop"}
    assert count.json() == {"input_tokens": 31}


async def test_unknown_path_is_404(upstream: FakeUpstream, http: httpx.AsyncClient):
    response = await http.post(upstream.url + "/v1/images/generations", json={})

    assert response.status_code == 404
    assert "error" in response.json()


async def test_scripts_answer_in_order_then_the_default(upstream: FakeUpstream, http: httpx.AsyncClient):
    upstream.script(
        error(500, protocol="anthropic"), json_fixture("anthropic/message_tool_use_parallel.json")
    )
    upstream.default = Reply(201, b'{"ok":true}')
    url = upstream.url + "/v1/messages"

    statuses = [(await http.post(url, json={"model": "claude-y"})) for _ in range(3)]

    assert [r.status_code for r in statuses] == [500, 200, 201]
    assert statuses[0].json()["error"]["type"] == "api_error"
    assert statuses[1].json()["stop_reason"] == "tool_use"
    assert statuses[1].json()["model"] == "claude-y"


async def test_stream_end_after_stops_cleanly_without_the_terminator(
    upstream: FakeUpstream, http: httpx.AsyncClient
):
    upstream.script(sse_fixture("anthropic/stream_text.sse", end_after=2))

    response = await http.post(upstream.url + "/v1/messages", json={"stream": True})

    types = [event["type"] for event in data_payloads(response.content)]
    assert types == ["message_start", "content_block_start"]


async def test_requests_are_recorded(upstream: FakeUpstream, http: httpx.AsyncClient):
    await http.post(upstream.url + "/v1/messages?beta=true", content=b"not json", headers={"X-Api-Key": "k"})

    seen = upstream.requests[0]
    assert (seen.method, seen.path, seen.query, seen.body, seen.json) == (
        "POST", "/v1/messages", "beta=true", b"not json", None
    )  # fmt: skip
    assert seen.headers["x-api-key"] == "k"
    assert upstream.connections == 1


def test_thread_mode_serves_sync_clients():
    upstream = start_in_thread()
    try:
        upstream.script(error(429, retry_after=1.5))
        with httpx.Client(trust_env=False, timeout=2.0) as client:
            limited = client.post(upstream.url + "/v1/chat/completions", json={"model": "a"})
            answered = client.post(upstream.url + "/v1/chat/completions", json={"model": "a"})
    finally:
        upstream.stop()

    assert (limited.status_code, limited.headers["retry-after"]) == (429, "1.5")
    assert answered.json()["model"] == "a"
    assert len(upstream.requests) == 2
