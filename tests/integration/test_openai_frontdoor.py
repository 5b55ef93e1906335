"""OpenAI clients on an OpenAI-protocol provider, through the ASGI app (pytest-httpx upstream)."""

from __future__ import annotations

import httpx
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import fixture_bytes
from tests.integration.conftest import OPENAI_KEY, OPENAI_URL, sse
from tests.integration.upstream import TIMEOUT, UNREACHABLE, UpstreamMock

HELLO = {"role": "user", "content": "Hello!"}


def upstream_json(scripted: UpstreamMock) -> dict:
    (request,) = scripted.get_requests()
    return msgspec.json.decode(request.content)


def data_frames(text: str) -> list[dict | str]:
    frames = [block for block in text.split("\n\n") if block.strip()]
    out: list[dict | str] = []
    for block in frames:
        assert block.startswith("data: "), block
        payload = block[len("data: ") :]
        out.append(payload if payload == "[DONE]" else msgspec.json.decode(payload))
    return out


async def test_non_stream_relays_the_upstream_body_and_unknown_fields(
    gateway: AsyncTestClient, scripted: UpstreamMock
) -> None:
    upstream = msgspec.json.decode(fixture_bytes("openai/chat_text.json"))
    upstream["x_made_up"] = {"nested": [1, 2]}
    scripted.add_response(url=OPENAI_URL, json=upstream)
    response = await gateway.post(
        "/openai/v1/chat/completions",
        json={"model": "gpt-4o-mini", "messages": [HELLO], "x_vendor_flag": {"deep": True}, "temperature": 0.2},
        headers={"authorization": "Bearer client-own-key", "x-api-key": "client-other-key"},
    )
    assert response.status_code == 200
    assert response.json() == upstream
    sent = upstream_json(scripted)
    assert sent == {"model": "gpt-4o-mini", "messages": [HELLO], "x_vendor_flag": {"deep": True}, "temperature": 0.2}
    (request,) = scripted.get_requests()
    assert request.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert "x-api-key" not in request.headers
    assert response.headers["x-request-id"]


async def test_exact_rewrite_sends_upstream_model_and_reports_alias(
    gateway: AsyncTestClient, scripted: UpstreamMock
) -> None:
    upstream = msgspec.json.decode(fixture_bytes("openai/chat_text.json"))
    upstream["model"] = "gpt-5-mini-2025-08-07"
    scripted.add_response(url=OPENAI_URL, json=upstream)
    response = await gateway.post("/openai/v1/chat/completions", json={"model": "claude-haiku-4.5", "messages": [HELLO]})
    assert response.status_code == 200
    assert response.json()["model"] == "claude-haiku-4.5"
    assert upstream_json(scripted)["model"] == "gpt-5-mini"


async def test_provider_prefix_is_stripped_upstream(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    scripted.add_response(url=OPENAI_URL, content=fixture_bytes("openai/chat_text.json"))
    response = await gateway.post("/openai/v1/chat/completions", json={"model": "openai/gpt-4o", "messages": [HELLO]})
    assert response.status_code == 200
    assert upstream_json(scripted)["model"] == "gpt-4o"
    assert response.json()["model"] == "gpt-4o-mini"  # what the upstream reported


@pytest.mark.parametrize("include_usage", [False, True])
async def test_stream_relays_chunks_and_usage_only_when_asked(
    gateway: AsyncTestClient, scripted: UpstreamMock, include_usage: bool
) -> None:
    body = fixture_bytes("openai/stream_text_with_usage.sse")
    scripted.add_response(
        url=OPENAI_URL, stream=sse(body, chunk=37), headers={"content-type": "text/event-stream"}
    )
    request = {"model": "gpt-4o-mini", "messages": [HELLO], "stream": True}
    if include_usage:
        request["stream_options"] = {"include_usage": True}
    response = await gateway.post("/openai/v1/chat/completions", json=request)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = data_frames(response.text)
    assert frames[-1] == "[DONE]"
    expected = data_frames(body.decode())
    if not include_usage:
        expected = [f for f in expected if f == "[DONE]" or f["choices"]]
    assert frames == expected
    sent = upstream_json(scripted)
    assert sent["stream_options"] == {"include_usage": True}  # forced upstream to log tokens


async def test_stream_with_alias_reports_alias_in_every_chunk(
    gateway: AsyncTestClient, scripted: UpstreamMock
) -> None:
    body = fixture_bytes("openai/stream_tool_calls_parallel.sse")
    scripted.add_response(url=OPENAI_URL, stream=sse(body))
    response = await gateway.post(
        "/openai/v1/chat/completions", json={"model": "claude-haiku-4.5", "messages": [HELLO], "stream": True}
    )
    frames = data_frames(response.text)
    assert frames[-1] == "[DONE]"
    assert {f["model"] for f in frames[:-1]} == {"claude-haiku-4.5"}
    assert upstream_json(scripted)["model"] == "gpt-5-mini"


async def test_models_listing_in_openai_shape(gateway: AsyncTestClient) -> None:
    response = await gateway.get("/openai/v1/models")
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list"
    ids = [m["id"] for m in body["data"]]
    assert ids == ["claude-haiku-4.5", "sonnet-on-anthropic"]
    assert all(m["object"] == "model" and "owned_by" in m and "created" in m for m in body["data"])


def assert_openai_error(response: httpx.Response, status: int, *, contains: str = "") -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["message"], str) and body["error"]["type"]
    assert contains in body["error"]["message"]
    assert "Traceback" not in response.text
    return body["error"]


async def test_malformed_json_is_400(gateway: AsyncTestClient) -> None:
    response = await gateway.post(
        "/openai/v1/chat/completions", content=b'{"model": "x", ', headers={"content-type": "application/json"}
    )
    assert_openai_error(response, 400)


@pytest.mark.parametrize(
    "body",
    [
        {"messages": [HELLO]},
        {"model": "gpt-4o", "messages": "hello"},
        {"model": 7, "messages": [HELLO]},
        [1, 2],
    ],
)
async def test_missing_or_ill_typed_fields_are_400(gateway: AsyncTestClient, body: object) -> None:
    response = await gateway.post("/openai/v1/chat/completions", json=body)
    assert_openai_error(response, 400)


async def test_oversized_body_is_413(gateway: AsyncTestClient) -> None:
    big = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x" * 300_000}]}
    assert_openai_error(await gateway.post("/openai/v1/chat/completions", json=big), 413)


async def test_unknown_path_is_404_in_openai_shape(gateway: AsyncTestClient) -> None:
    assert_openai_error(await gateway.get("/openai/v1/nothing-here"), 404)


async def test_upstream_4xx_keeps_status_and_message(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    scripted.add_response(url=OPENAI_URL, status_code=400, content=fixture_bytes("openai/error_400_unknown_parameter.json"))
    response = await gateway.post("/openai/v1/chat/completions", json={"model": "gpt-4o", "messages": [HELLO]})
    assert_openai_error(response, 400, contains="Unrecognized request argument supplied: top_k")


async def test_upstream_429_keeps_status(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    scripted.add_response(
        url=OPENAI_URL, status_code=429, content=fixture_bytes("openai/error_429.json"), headers={"retry-after": "3"}
    )
    response = await gateway.post("/openai/v1/chat/completions", json={"model": "gpt-4o", "messages": [HELLO]})
    assert_openai_error(response, 429, contains="Rate limit reached")


async def test_upstream_401_does_not_echo_upstream_text(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    scripted.add_response(
        url=OPENAI_URL,
        status_code=401,
        json={"error": {"message": "Incorrect API key provided: sk-test-***cret.", "type": "invalid_request_error"}},
    )
    response = await gateway.post("/openai/v1/chat/completions", json={"model": "gpt-4o", "messages": [HELLO]})
    error = assert_openai_error(response, 401, contains="openai")
    assert "sk-" not in error["message"]


@pytest.mark.parametrize(("status", "client"), [(500, 502), (502, 502), (503, 503)])
async def test_upstream_5xx_mapping(
    gateway: AsyncTestClient, scripted: UpstreamMock, status: int, client: int
) -> None:
    scripted.add_response(url=OPENAI_URL, status_code=status, json={"error": {"message": "boom", "type": "server_error"}})
    response = await gateway.post("/openai/v1/chat/completions", json={"model": "gpt-4o", "messages": [HELLO]})
    assert_openai_error(response, client)


async def test_unreachable_upstream_is_502(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    scripted.add_exception(UNREACHABLE, url=OPENAI_URL)
    response = await gateway.post("/openai/v1/chat/completions", json={"model": "gpt-4o", "messages": [HELLO]})
    assert_openai_error(response, 502, contains="openai")


async def test_upstream_timeout_is_504(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    scripted.add_exception(TIMEOUT, url=OPENAI_URL)
    response = await gateway.post("/openai/v1/chat/completions", json={"model": "gpt-4o", "messages": [HELLO]})
    assert_openai_error(response, 504)


async def test_provider_without_key_names_the_variable(gateway: AsyncTestClient) -> None:
    response = await gateway.post("/openai/v1/chat/completions", json={"model": "nokey-1", "messages": [HELLO]})
    assert_openai_error(response, 500, contains="GATEWAY_TEST_UNSET_KEY")


async def test_stream_error_before_first_byte_is_a_normal_error(
    gateway: AsyncTestClient, scripted: UpstreamMock
) -> None:
    scripted.add_response(url=OPENAI_URL, status_code=429, content=fixture_bytes("openai/error_429.json"))
    response = await gateway.post(
        "/openai/v1/chat/completions", json={"model": "gpt-4o", "messages": [HELLO], "stream": True}
    )
    assert_openai_error(response, 429)


async def test_stream_error_mid_way_ends_with_error_payload_without_done(
    gateway: AsyncTestClient, scripted: UpstreamMock
) -> None:
    body = fixture_bytes("openai/stream_midstream_error.sse")
    scripted.add_response(url=OPENAI_URL, stream=sse(body))
    response = await gateway.post(
        "/openai/v1/chat/completions", json={"model": "gpt-4o", "messages": [HELLO], "stream": True}
    )
    frames = data_frames(response.text)
    assert "error" in frames[-1]
    assert "[DONE]" not in frames


async def test_stream_cut_off_mid_way_ends_with_error_payload(
    gateway: AsyncTestClient, scripted: UpstreamMock
) -> None:
    body = fixture_bytes("openai/stream_text_with_usage.sse")
    frames_in = sse(body)[:3]  # the connection closes after three frames, no finish, no [DONE]
    scripted.add_response(url=OPENAI_URL, stream=frames_in)
    response = await gateway.post(
        "/openai/v1/chat/completions", json={"model": "gpt-4o", "messages": [HELLO], "stream": True}
    )
    frames = data_frames(response.text)
    assert frames[0]["choices"][0]["delta"]["role"] == "assistant"
    assert "error" in frames[-1] and "[DONE]" not in frames


async def test_request_id_is_taken_from_the_client_and_echoed(
    gateway: AsyncTestClient, scripted: UpstreamMock
) -> None:
    scripted.add_response(url=OPENAI_URL, content=fixture_bytes("openai/chat_text.json"))
    response = await gateway.post(
        "/openai/v1/chat/completions", json={"model": "gpt-4o", "messages": [HELLO]}, headers={"x-request-id": "abc-123"}
    )
    assert response.headers["x-request-id"] == "abc-123"


async def test_health(gateway: AsyncTestClient) -> None:
    assert (await gateway.get("/healthz")).status_code == 200
    assert (await gateway.get("/readyz")).status_code == 200
