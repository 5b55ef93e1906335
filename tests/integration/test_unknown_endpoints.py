"""Endpoints the gateway does not serve: 404 and 405 in the client's protocol, saying so and
what is served instead; and the routing headers, which a deployment can turn off."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anthropic
import httpx
import httpx2  # the anthropic SDK's fork of httpx
import openai
import pytest
from litestar.testing import AsyncTestClient

from app.asgi import build_asgi
from tests.conftest import fixture_bytes
from tests.integration.conftest import CONFIG, OPENAI_URL, config_for
from tests.integration.upstream import UpstreamMock

HELLO = {"role": "user", "content": "Hello!"}


def anthropic_error(response: httpx.Response, status: int, type_: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"] == type_
    return body["error"]["message"]


def openai_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["type"] == "invalid_request_error"
    return body["error"]["message"]


async def test_unknown_anthropic_path_is_a_not_found_error_naming_what_is_served(gateway: AsyncTestClient) -> None:
    message = anthropic_error(await gateway.get("/anthropic/v1/messages/batches"), 404, "not_found_error")
    assert message.startswith("The gateway does not serve GET /anthropic/v1/messages/batches.")
    assert "POST /anthropic/v1/messages, POST /anthropic/v1/messages/count_tokens, GET /anthropic/v1/models" in message
    assert "GET /anthropic/v1/models/{model_id}" in message


async def test_unknown_openai_path_is_an_invalid_request_error_naming_what_is_served(gateway: AsyncTestClient) -> None:
    message = openai_error(await gateway.post("/openai/v1/audio/speech", json={"input": "x"}), 404)
    assert message.startswith("The gateway does not serve POST /openai/v1/audio/speech.")
    assert "POST /openai/v1/chat/completions, POST /openai/v1/responses, GET /openai/v1/models" in message
    assert "DELETE /openai/v1/responses/{response_id}, GET /openai/v1/responses/{response_id}" in message


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/anthropic/v1/messages", "POST"),
        ("GET", "/anthropic/v1/messages/count_tokens", "POST"),
        ("POST", "/anthropic/v1/models", "GET"),
    ],
)
async def test_wrong_method_on_anthropic_is_an_invalid_request_error_with_allow(
    gateway: AsyncTestClient, method: str, path: str, allow: str
) -> None:
    response = await gateway.request(method, path)
    message = anthropic_error(response, 405, "invalid_request_error")
    assert message == f"Method not allowed: {method} {path}. This endpoint takes {allow}."
    assert allow in response.headers["allow"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [("GET", "/openai/v1/chat/completions", "POST"), ("DELETE", "/openai/v1/models", "GET")],
)
async def test_wrong_method_on_openai_is_an_invalid_request_error_with_allow(
    gateway: AsyncTestClient, method: str, path: str, allow: str
) -> None:
    response = await gateway.request(method, path)
    assert openai_error(response, 405) == f"Method not allowed: {method} {path}. This endpoint takes {allow}."
    assert allow in response.headers["allow"]


async def test_a_path_outside_every_app_names_where_the_apps_are(gateway: AsyncTestClient) -> None:
    message = anthropic_error(await gateway.post("/v1/chat/completions", json={}), 404, "not_found_error")
    assert message == (
        "The gateway does not serve POST /v1/chat/completions. Its apps are mounted at "
        "/anthropic (anthropic protocol; SDK base_url ending in /anthropic), "
        "/openai (openai protocol; SDK base_url ending in /openai/v1)."
    )
    response = await gateway.delete("/healthz")
    assert anthropic_error(response, 405, "invalid_request_error").startswith("Method not allowed: DELETE /healthz.")
    assert "GET" in response.headers["allow"]


async def test_the_sdks_show_the_message_not_a_bare_not_found(scripted: UpstreamMock, http_client: str) -> None:
    app = build_asgi(config_for(CONFIG, scripted, http_client))
    transport = httpx.ASGITransport(app=app)
    oa = openai.AsyncOpenAI(base_url="http://gw/openai/v1", api_key="k", max_retries=0,
                            http_client=httpx.AsyncClient(transport=transport))  # fmt: skip
    with pytest.raises(openai.NotFoundError) as openai_info:
        await oa.images.generate(model="gpt-image-1", prompt="x")
    assert "does not serve POST /openai/v1/images/generations" in str(openai_info.value)
    an = anthropic.AsyncAnthropic(base_url="http://gw/anthropic", api_key="k", max_retries=0,
                                  http_client=httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app)))  # fmt: skip
    with pytest.raises(anthropic.NotFoundError) as anthropic_info:
        await an.messages.batches.list()
    assert "does not serve GET /anthropic/v1/messages/batches" in str(anthropic_info.value)


# ---- routing headers --------------------------------------------------------------------------
@pytest.fixture
async def hidden(scripted: UpstreamMock, http_client: str) -> AsyncIterator[AsyncTestClient]:
    config = CONFIG.replace("server: {", "server: {expose_routing_headers: false, ", 1)
    async with AsyncTestClient(app=build_asgi(config_for(config, scripted, http_client))) as client:
        yield client


ROUTING_HEADERS = {"x-gateway-provider", "x-gateway-model", "x-gateway-failover"}


async def test_routing_headers_say_which_target_served(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    scripted.add_response(url=OPENAI_URL, content=fixture_bytes("openai/chat_text.json"))
    response = await gateway.post("/openai/v1/chat/completions", json={"model": "claude-haiku-4.5", "messages": [HELLO]})
    assert (response.headers["x-gateway-provider"], response.headers["x-gateway-model"]) == ("openai", "gpt-5-mini")
    assert response.headers["x-gateway-failover"] == "false"


async def test_routing_headers_are_left_out_when_turned_off(hidden: AsyncTestClient, scripted: UpstreamMock) -> None:
    scripted.add_response(url=OPENAI_URL, content=fixture_bytes("openai/chat_text.json"))
    response = await hidden.post("/openai/v1/chat/completions", json={"model": "claude-haiku-4.5", "messages": [HELLO]})
    assert response.status_code == 200 and response.json()["model"] == "claude-haiku-4.5"
    assert ROUTING_HEADERS.isdisjoint(response.headers) and response.headers["x-request-id"]
    scripted.add_response(url=OPENAI_URL, status_code=400, json={"error": {"message": "bad", "type": "invalid_request_error"}})
    failed = await hidden.post("/openai/v1/chat/completions", json={"model": "claude-haiku-4.5", "messages": [HELLO]})
    assert failed.status_code == 400 and ROUTING_HEADERS.isdisjoint(failed.headers)
