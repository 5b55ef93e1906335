"""The chat route every frontdoor mounts, driven through an endpoint of the test's own: its
decoded call, a ``prepare`` step before the service is called, an encoder that awaits before
it answers, and a stream encoder that awaits before its last frame (the seams a frontdoor with
per-request steps, such as stored conversation state, builds on)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.inbound.chat_route import ChatEndpoint
from adapters.inbound.frontdoor import Frontdoor, Mount
from adapters.inbound.openai.errors import error_response
from domain.errors import ErrorKind, GatewayError
from domain.ir import AnyEvent, ChatRequest, ChatResponse, Message, MessageStart, MessageStop, TextBlock
from domain.request_record import RequestRecord
from domain.routing import Destination, RoutingTable
from domain.service import ChatService


@dataclass
class Call:
    """What the test endpoint decodes a body into: not a ChatRequest."""

    text: str
    stream: bool
    user: str
    steps: list[str] = field(default_factory=list)


class EchoProvider:
    name = "echo"
    protocol = "echo"
    counts_locally = True

    async def complete(self, request: ChatRequest, model: str) -> ChatResponse:
        text = request.messages[-1].content[0]
        assert isinstance(text, TextBlock)
        return ChatResponse(id="r1", model=model, content=[TextBlock(text=text.text.upper())])

    async def stream(self, request: ChatRequest, model: str) -> AsyncIterator[AnyEvent]:
        yield MessageStart(id="r1", model=model)
        yield MessageStop()

    async def count_tokens(self, request: ChatRequest, model: str) -> int:
        return 1


_decode_body = msgspec.json.Decoder(dict[str, str | bool])


def decode(body: bytes, headers: Mapping[str, str]) -> Call:
    fields = _decode_body.decode(body)
    if "text" not in fields:
        raise GatewayError(ErrorKind.INVALID_REQUEST, "text is required", param="text")
    call = Call(text=str(fields["text"]), stream=fields.get("stream") is True, user=headers.get("x-user", ""))
    call.steps.append("decode")
    return call


async def prepare(call: Call) -> ChatRequest:
    call.steps.append("prepare")  # e.g. the lookup of stored history, before the service
    return ChatRequest(
        model="echo-1", messages=[Message(role="user", content=[TextBlock(text=call.text)])], stream=call.stream
    )


async def encode(response: ChatResponse, call: Call, record: RequestRecord) -> bytes:
    call.steps.append("store")  # e.g. a store write, before the answer is sent
    text = response.content[0]
    assert isinstance(text, TextBlock)
    return msgspec.json.encode({"text": text.text, "steps": call.steps, "user": call.user, "app": record.app})


async def encode_stream(events: AsyncIterator[AnyEvent], call: Call, record: RequestRecord) -> AsyncIterator[bytes]:
    async for event in events:
        if isinstance(event, MessageStop):
            call.steps.append("store")  # before the final event
        yield b"data: " + msgspec.json.encode({"event": type(event).__name__, "steps": call.steps}) + b"\n\n"


ENDPOINT = ChatEndpoint(
    path="/v1/echo",
    protocol="echo",
    decode=decode,
    prepare=prepare,
    encode=encode,
    encode_stream=encode_stream,
    headers=frozenset({b"x-user"}),
)


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient]:
    service = ChatService(RoutingTable(default=Destination.single("echo")), {"echo": EchoProvider()})
    frontdoor = Frontdoor(endpoints=lambda mount: (ENDPOINT,), error_response=error_response)
    router = frontdoor.router(Mount(name="app", path="/e", service=service, max_body_bytes=1000))
    async with AsyncTestClient(app=Litestar(route_handlers=[router])) as test_client:
        yield test_client


async def test_a_call_is_decoded_prepared_answered_and_stored_in_that_order(client: AsyncTestClient) -> None:
    response = await client.post("/e/v1/echo", json={"text": "hi"}, headers={"x-user": "ann", "x-other": "no"})

    assert response.status_code == 200
    assert response.json() == {"text": "HI", "steps": ["decode", "prepare", "store"], "user": "ann", "app": "app"}


async def test_a_stream_awaits_its_endpoint_s_step_before_the_final_event(client: AsyncTestClient) -> None:
    response = await client.post("/e/v1/echo", json={"text": "hi", "stream": True})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = [msgspec.json.decode(part.removeprefix(b"data: ")) for part in response.content.split(b"\n\n") if part]
    assert frames == [
        {"event": "MessageStart", "steps": ["decode", "prepare"]},
        {"event": "MessageStop", "steps": ["decode", "prepare", "store"]},
    ]


async def test_the_route_keeps_its_limits_and_the_frontdoor_s_error_shape(client: AsyncTestClient) -> None:
    too_large = await client.post("/e/v1/echo", content=b'{"text": "' + b"x" * 2000 + b'"}')
    wrong_method = await client.get("/e/v1/echo")
    refused = await client.post("/e/v1/echo", json={"other": "x"})

    assert too_large.status_code == 413 and too_large.json()["error"]["type"] == "invalid_request_error"
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "POST"
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "text"
