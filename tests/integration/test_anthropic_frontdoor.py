"""Anthropic clients on an Anthropic provider, through the ASGI app (pytest-httpx upstream)."""

from __future__ import annotations

import httpx
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import fixture_bytes
from tests.integration.conftest import ANTHROPIC_KEY, ANTHROPIC_URL, sse
from tests.integration.upstream import TIMEOUT, UNREACHABLE, UpstreamMock

HELLO = {"role": "user", "content": "Hello!"}
BASE = {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [HELLO]}


def events(text: str) -> list[tuple[str, dict]]:
    out = []
    for block in (b for b in text.split("\n\n") if b.strip()):
        lines = block.split("\n")
        assert lines[0].startswith("event: ") and lines[1].startswith("data: "), block
        out.append((lines[0][7:], msgspec.json.decode(lines[1][6:])))
    return out


def assert_anthropic_error(response: httpx.Response, status: int, kind: str, contains: str = "") -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == kind
    assert contains in body["error"]["message"]
    assert "Traceback" not in response.text
    return body["error"]


async def test_non_stream_relays_body_headers_and_unknown_fields(
    gateway: AsyncTestClient, scripted: UpstreamMock
) -> None:
    upstream = msgspec.json.decode(fixture_bytes("anthropic/message_text.json"))
    upstream["x_made_up"] = {"a": 1}
    scripted.add_response(url=ANTHROPIC_URL, json=upstream)
    request = {
        **BASE,
        "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        "x_vendor_flag": [1, {"deep": None}],
    }
    response = await gateway.post(
        "/anthropic/v1/messages",
        json=request,
        headers={
            "x-api-key": "client-own-key",
            "authorization": "Bearer client-token",
            "anthropic-version": "2023-06-01",
            "anthropic-beta": "prompt-caching-2024-07-31,interleaved-thinking-2025-05-14",
        },
    )
    assert response.status_code == 200
    assert response.json() == upstream
    (sent,) = scripted.get_requests()
    assert msgspec.json.decode(sent.content) == request
    assert sent.headers["x-api-key"] == ANTHROPIC_KEY
    assert "authorization" not in sent.headers
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.headers["anthropic-beta"] == "prompt-caching-2024-07-31,interleaved-thinking-2025-05-14"


async def test_default_anthropic_version_when_client_sends_none(
    gateway: AsyncTestClient, scripted: UpstreamMock
) -> None:
    scripted.add_response(url=ANTHROPIC_URL, content=fixture_bytes("anthropic/message_text.json"))
    await gateway.post("/anthropic/v1/messages", json=BASE)
    (sent,) = scripted.get_requests()
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert "anthropic-beta" not in sent.headers


async def test_stream_relays_every_event_and_alias(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    body = fixture_bytes("anthropic/stream_thinking.sse")
    scripted.add_response(url=ANTHROPIC_URL, stream=sse(body, chunk=53))
    response = await gateway.post("/anthropic/v1/messages", json={**BASE, "model": "haiku", "stream": True})
    assert response.status_code == 200
    got = events(response.text)
    want = events(body.decode())
    assert [name for name, _ in got] == [name for name, _ in want]
    assert got[0][1]["message"]["model"] == "haiku"
    want[0][1]["message"]["model"] = "haiku"
    assert got == want
    (sent,) = scripted.get_requests()
    assert msgspec.json.decode(sent.content)["model"] == "claude-haiku-4-5"


async def test_models_listing_in_anthropic_shape(gateway: AsyncTestClient) -> None:
    body = (await gateway.get("/anthropic/v1/models")).json()
    assert [m["id"] for m in body["data"]] == ["claude-haiku-4.5", "haiku"]
    assert all(m["type"] == "model" and "display_name" in m and "created_at" in m for m in body["data"])
    assert body["has_more"] is False


async def test_count_tokens_passes_through(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    scripted.add_response(url=ANTHROPIC_URL + "/count_tokens", json={"input_tokens": 42})
    response = await gateway.post(
        "/anthropic/v1/messages/count_tokens", json={"model": "claude-sonnet-4-5", "messages": [HELLO]}
    )
    assert response.status_code == 200
    assert response.json() == {"input_tokens": 42}


async def test_malformed_json_is_400(gateway: AsyncTestClient) -> None:
    response = await gateway.post("/anthropic/v1/messages", content=b"{nope", headers={"content-type": "application/json"})
    assert_anthropic_error(response, 400, "invalid_request_error")


async def test_missing_max_tokens_is_400(gateway: AsyncTestClient) -> None:
    response = await gateway.post("/anthropic/v1/messages", json={"model": "claude-x", "messages": [HELLO]})
    assert_anthropic_error(response, 400, "invalid_request_error", contains="max_tokens")


async def test_oversized_body_is_413(gateway: AsyncTestClient) -> None:
    big = {**BASE, "messages": [{"role": "user", "content": "x" * 300_000}]}
    assert_anthropic_error(await gateway.post("/anthropic/v1/messages", json=big), 413, "request_too_large")


async def test_unknown_path_is_404_in_anthropic_shape(gateway: AsyncTestClient) -> None:
    assert_anthropic_error(await gateway.get("/anthropic/v1/nothing"), 404, "not_found_error")


async def test_upstream_429_keeps_status_and_message(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    scripted.add_response(url=ANTHROPIC_URL, status_code=429, content=fixture_bytes("anthropic/error_429.json"))
    response = await gateway.post("/anthropic/v1/messages", json=BASE)
    assert_anthropic_error(response, 429, "rate_limit_error", contains="per-minute rate limit")


async def test_upstream_529_stays_an_overload(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    scripted.add_response(url=ANTHROPIC_URL, status_code=529, content=fixture_bytes("anthropic/error_529_overloaded.json"))
    response = await gateway.post("/anthropic/v1/messages", json=BASE)
    assert_anthropic_error(response, 529, "overloaded_error")


async def test_upstream_500_is_502(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    scripted.add_response(url=ANTHROPIC_URL, status_code=500, json={"type": "error", "error": {"type": "api_error", "message": "x"}})
    assert_anthropic_error(await gateway.post("/anthropic/v1/messages", json=BASE), 502, "api_error")


async def test_unreachable_is_502_and_timeout_504(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    scripted.add_exception(UNREACHABLE, url=ANTHROPIC_URL)
    assert_anthropic_error(await gateway.post("/anthropic/v1/messages", json=BASE), 502, "api_error")
    scripted.add_exception(TIMEOUT, url=ANTHROPIC_URL)
    assert_anthropic_error(await gateway.post("/anthropic/v1/messages", json=BASE), 504, "timeout_error")


async def test_stream_error_mid_way_is_an_error_event(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    body = fixture_bytes("anthropic/stream_midstream_error.sse")
    scripted.add_response(url=ANTHROPIC_URL, stream=sse(body))
    response = await gateway.post("/anthropic/v1/messages", json={**BASE, "stream": True})
    got = events(response.text)
    assert got[-1][0] == "error"
    assert got[-1][1]["error"]["type"] == "overloaded_error"


async def test_stream_cut_off_ends_with_error_event(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    body = fixture_bytes("anthropic/stream_text.sse")
    scripted.add_response(url=ANTHROPIC_URL, stream=sse(body)[:5])
    response = await gateway.post("/anthropic/v1/messages", json={**BASE, "stream": True})
    got = events(response.text)
    assert got[0][0] == "message_start"
    assert got[-1][0] == "error"


@pytest.mark.parametrize("path", ["/anthropic/v1/messages", "/anthropic/v1/messages/count_tokens"])
async def test_wrong_method_is_405_in_anthropic_shape(gateway: AsyncTestClient, path: str) -> None:
    response = await gateway.get(path)
    assert response.status_code == 405
    assert response.json()["type"] == "error"
