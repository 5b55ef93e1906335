"""POST /v1/embeddings on an OpenAI frontdoor: routed like chat, relayed as sent to an
OpenAI-type provider, refused with a clear 400 on an Anthropic route."""

from __future__ import annotations

import msgspec
from litestar.testing import AsyncTestClient

from tests.conftest import fixture_bytes
from tests.integration.conftest import OPENAI_KEY
from tests.integration.upstream import UpstreamMock

URL = "/openai/v1/embeddings"
EMBEDDINGS_URL = "http://openai.test/v1/embeddings"


async def test_embeddings_are_relayed_as_sent(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    upstream = msgspec.json.decode(fixture_bytes("openai/embeddings.json"))
    upstream["x_vendor"] = 1
    scripted.add_response(url=EMBEDDINGS_URL, json=upstream)
    body = {"model": "text-embedding-3-small", "input": ["a", "b"], "encoding_format": "float", "x_extra": True}
    response = await gateway.post(URL, json=body, headers={"authorization": "Bearer client-own-key"})
    assert response.status_code == 200, response.text
    assert response.json() == upstream
    (request,) = scripted.get_requests()
    assert msgspec.json.decode(request.content) == body
    assert request.headers["authorization"] == f"Bearer {OPENAI_KEY}"


async def test_an_alias_routes_and_is_shown(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    scripted.add_response(url=EMBEDDINGS_URL, content=fixture_bytes("openai/embeddings.json"))
    response = await gateway.post(URL, json={"model": "claude-haiku-4.5", "input": "x"})
    assert response.status_code == 200
    assert response.json()["model"] == "claude-haiku-4.5"
    (request,) = scripted.get_requests()
    assert msgspec.json.decode(request.content)["model"] == "gpt-5-mini"


async def test_an_anthropic_route_is_a_clear_400(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    response = await gateway.post(URL, json={"model": "claude-sonnet-4-5", "input": "x"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "no embeddings API" in error["message"] and "anthropic" in error["message"]
    assert scripted.get_requests() == []


async def test_upstream_errors_and_client_mistakes_keep_openai_shape(
    gateway: AsyncTestClient, scripted: UpstreamMock
) -> None:
    scripted.add_response(url=EMBEDDINGS_URL, status_code=429, content=fixture_bytes("openai/error_429.json"))
    limited = await gateway.post(URL, json={"model": "text-embedding-3-small", "input": "x"})
    assert limited.status_code == 429 and limited.json()["error"]["type"] == "rate_limit_error"
    missing = await gateway.post(URL, json={"model": "text-embedding-3-small"})
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "input"
    assert (await gateway.get(URL)).status_code == 405
