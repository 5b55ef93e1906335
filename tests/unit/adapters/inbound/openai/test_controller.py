"""The OpenAI frontdoor's routes over a ChatService and a fake provider (tests/integration
covers the whole app)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from openai.types import Model
from openai.types.chat import ChatCompletion

from adapters.inbound.frontdoor import Mount
from adapters.inbound.openai import FRONTDOOR
from adapters.outbound.openai.response import parse_response
from domain.ir import AnyEvent, ChatRequest, ChatResponse
from domain.routing import Destination, RoutingTable
from domain.service import ChatService
from tests.conftest import fixture_bytes
from tests.streams import aiter_of, parse_fixture

MODELS = ({"id": "gpt-4o-mini"}, {"id": "openai/gpt-4o", "owned_by": "openai", "created": 1700000000})


class FakeProvider:
    name = "fake"
    protocol = "openai"

    def __init__(self) -> None:
        self.requests: list[ChatRequest] = []

    async def complete(self, request: ChatRequest, model: str) -> ChatResponse:
        self.requests.append(request)
        return parse_response(fixture_bytes("openai/chat_text.json"))

    async def stream(self, request: ChatRequest, model: str) -> AsyncIterator[AnyEvent]:
        self.requests.append(request)
        events = await parse_fixture("stream_text_with_usage.sse", relay_usage=request.include_usage is True)
        async for event in aiter_of(events):
            yield event  # type: ignore[misc]

    async def count_tokens(self, request: ChatRequest, model: str) -> int:
        return 1


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient]:
    service = ChatService(RoutingTable(default=Destination.single("fake")), {"fake": FakeProvider()})
    router = FRONTDOOR.router(Mount(name="oa", path="/oa", service=service, models=MODELS))
    async with AsyncTestClient(app=Litestar(route_handlers=[router])) as test_client:
        yield test_client


async def test_chat_completion(client: AsyncTestClient) -> None:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}
    response = await client.post("/oa/v1/chat/completions", json=body)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.content == fixture_bytes("openai/chat_text.json")
    ChatCompletion.model_validate_json(response.content)


async def test_streamed_chat_completion(client: AsyncTestClient) -> None:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}], "stream": True}
    response = await client.post("/oa/v1/chat/completions", json=body)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.text.endswith("data: [DONE]\n\n")
    assert '"choices":[]' not in response.text  # usage chunk: not asked for


async def test_malformed_body_is_an_openai_400(client: AsyncTestClient) -> None:
    response = await client.post("/oa/v1/chat/completions", content=b'{"model": ')

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


async def test_models_listing_fills_the_required_fields(client: AsyncTestClient) -> None:
    response = await client.get("/oa/v1/models")

    body = response.json()
    assert body["object"] == "list"
    assert body["data"] == [
        {"id": "gpt-4o-mini", "object": "model", "created": 0, "owned_by": "gateway"},
        {"id": "openai/gpt-4o", "object": "model", "created": 1700000000, "owned_by": "openai"},
    ]
    for entry in body["data"]:
        Model.model_validate(entry)


@pytest.mark.parametrize(
    "path", ["/oa/v1/models/gpt-4o-mini", "/oa/v1/models/openai%2Fgpt-4o", "/oa/v1/models/openai/gpt-4o"]
)
async def test_retrieve_model_by_id_even_with_a_slash(client: AsyncTestClient, path: str) -> None:
    response = await client.get(path)

    assert response.status_code == 200
    model = Model.model_validate_json(response.content)
    assert model.id in {"gpt-4o-mini", "openai/gpt-4o"}


async def test_unknown_model_is_an_openai_404(client: AsyncTestClient) -> None:
    response = await client.get("/oa/v1/models/nope")

    assert response.status_code == 404
    assert msgspec.json.decode(response.content) == {
        "error": {
            "message": "The model 'nope' does not exist",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
    }
