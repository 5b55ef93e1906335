"""The Anthropic frontdoor's routes through Litestar, over a ChatService with fake upstreams."""

from __future__ import annotations

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.inbound.anthropic import FRONTDOOR
from adapters.inbound.frontdoor import Mount
from adapters.outbound.anthropic.provider import AnthropicProvider
from adapters.outbound.anthropic.settings import AnthropicSettings
from adapters.outbound.http import UpstreamResponse
from domain.routing import Destination, Rewrite, RoutingTable
from domain.service import ChatService
from tests.conftest import fixture_bytes, sse_lines
from tests.fakes.http_port import FakeHttp, FakeStream

MESSAGES_BODY = msgspec.json.encode(
    {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}
)
SEEDS = (
    {"id": "claude-sonnet-4-5", "display_name": "Claude Sonnet 4.5", "created_at": "2025-09-29T00:00:00Z"},
    {"id": "gpt-4o", "object": "model", "created": 1715367049, "owned_by": "openai"},
    {"id": "house-model"},
)


SETTINGS = AnthropicSettings(name="claude", base_url="https://api.anthropic.test/", api_key="sk-ant-test")


def app_for(http: FakeHttp) -> Litestar:
    table = RoutingTable.build(
        exact={"house-model": Rewrite(destination=Destination.single("claude", "claude-sonnet-4-5"), rewrite_response_model=True)},
        prefixes=[], prefix_providers={}, rules=[], default=Destination.single("claude"),
    )
    service = ChatService(table, {"claude": AnthropicProvider(SETTINGS, http)})
    return Litestar(route_handlers=[FRONTDOOR.router(Mount("claude", "/anthropic", service, SEEDS))])


async def test_messages_relays_the_upstream_body():
    http = FakeHttp(answer=UpstreamResponse(200, {}, fixture_bytes("anthropic/message_text.json")))
    async with AsyncTestClient(app_for(http)) as client:
        response = await client.post("/anthropic/v1/messages", content=MESSAGES_BODY,
                                     headers={"x-api-key": "client-key", "anthropic-version": "2023-06-01"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.content == fixture_bytes("anthropic/message_text.json")
    assert http.calls[0][1]["x-api-key"] == "sk-ant-test"  # the provider's key, never the client's


async def test_streaming_messages_relay_the_upstream_stream():
    http = FakeHttp(stream=FakeStream(200, sse_lines("anthropic/stream_tool_use_parallel.sse")))
    body = msgspec.json.encode({**msgspec.json.decode(MESSAGES_BODY), "stream": True, "model": "house-model"})
    async with AsyncTestClient(app_for(http)) as client:
        response = await client.post("/anthropic/v1/messages", content=body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    expected = fixture_bytes("anthropic/stream_tool_use_parallel.sse").replace(
        b'"model":"claude-sonnet-4-5"', b'"model":"house-model"')
    assert response.content == expected
    assert msgspec.json.decode(http.calls[0][2])["model"] == "claude-sonnet-4-5"


@pytest.mark.parametrize(
    ("answer", "status", "error_type"),
    [
        (UpstreamResponse(529, {}, fixture_bytes("anthropic/error_529_overloaded.json")), 529,
         "overloaded_error"),
        (UpstreamResponse(400, {}, fixture_bytes("anthropic/error_400_missing_max_tokens.json")), 400,
         "invalid_request_error"),
    ],
)
async def test_upstream_errors_reach_the_client_in_anthropic_shape(answer, status, error_type):
    async with AsyncTestClient(app_for(FakeHttp(answer=answer))) as client:
        response = await client.post("/anthropic/v1/messages", content=MESSAGES_BODY)
    assert response.status_code == status
    assert response.json()["type"] == "error"
    assert response.json()["error"]["type"] == error_type


async def test_malformed_body_is_an_invalid_request_error():
    async with AsyncTestClient(app_for(FakeHttp())) as client:
        response = await client.post("/anthropic/v1/messages", content=b"{not json")
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


async def test_count_tokens_answers_input_tokens():
    http = FakeHttp(answer=UpstreamResponse(200, {}, b'{"input_tokens":31}'))
    body = msgspec.json.encode(
        {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "Hi"}]}
    )
    async with AsyncTestClient(app_for(http)) as client:
        response = await client.post("/anthropic/v1/messages/count_tokens", content=body)
    assert (response.status_code, response.content) == (200, b'{"input_tokens":31}')
    assert http.calls[0][0].endswith("/v1/messages/count_tokens")


async def test_models_are_listed_in_anthropic_page_shape():
    async with AsyncTestClient(app_for(FakeHttp())) as client:
        listing = (await client.get("/anthropic/v1/models")).json()
        params = {"limit": 1, "after_id": "claude-sonnet-4-5"}
        page = (await client.get("/anthropic/v1/models", params=params)).json()
        one = await client.get("/anthropic/v1/models/house-model")
        missing = await client.get("/anthropic/v1/models/nope")
        bad_limit = await client.get("/anthropic/v1/models", params={"limit": 0})
    assert listing == {
        "data": [
            {"type": "model", "id": "claude-sonnet-4-5", "display_name": "Claude Sonnet 4.5",
             "created_at": "2025-09-29T00:00:00Z"},
            {"type": "model", "id": "gpt-4o", "display_name": "gpt-4o", "created_at": "2024-05-10T18:50:49Z"},
            {"type": "model", "id": "house-model", "display_name": "house-model",
             "created_at": "1970-01-01T00:00:00Z"},
        ],
        "has_more": False, "first_id": "claude-sonnet-4-5", "last_id": "house-model",
    }
    assert ([m["id"] for m in page["data"]], page["has_more"]) == (["gpt-4o"], True)
    assert one.status_code == 200 and one.json()["id"] == "house-model"
    assert missing.status_code == 404
    assert missing.json() == {"type": "error", "error": {"type": "not_found_error", "message": "model: nope"}}
    assert bad_limit.status_code == 400


class OpenAIShapedProvider:
    """A provider whose upstream speaks OpenAI: it answers with IR only, no Anthropic native."""

    name, protocol = "gpt", "openai"

    async def complete(self, request, model):
        from domain.ir import ChatResponse, TextBlock, Usage

        return ChatResponse(id="chatcmpl-1", model=model, content=[TextBlock(text="Hi there")],
                            stop_reason="end_turn", usage=Usage(input_tokens=9, output_tokens=3))


async def test_translated_response_for_an_openai_upstream():
    import anthropic

    table = RoutingTable.build(exact={}, prefixes=[], prefix_providers={}, rules=[], default=Destination.single("gpt"))
    service = ChatService(table, {"gpt": OpenAIShapedProvider()})
    app = Litestar(route_handlers=[FRONTDOOR.router(Mount("claude", "/anthropic", service))])
    async with AsyncTestClient(app) as client:
        response = await client.post("/anthropic/v1/messages", content=MESSAGES_BODY)
    message = anthropic.types.Message.model_validate_json(response.content)
    assert (message.id, message.model) == ("chatcmpl-1", "claude-sonnet-4-5")
    assert message.content[0].text == "Hi there"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (9, 3)
