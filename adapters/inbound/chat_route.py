"""The chat route every frontdoor mounts: one handler for every protocol's chat endpoint.

A chat endpoint is a frontdoor's codec (``ChatEndpoint``): ``decode`` turns the body (and the
client headers it asks for) into a call, ``encode`` and ``encode_stream`` turn the answer into
its wire. The route does the rest the same way for every protocol: it labels the request's
record, takes only POST, reads the body within the app's limit, decodes it (on the heavy-work
thread when it is large, ``domain.offload``), runs it through the app's ``ChatService``, and
answers in one body or as server-sent events.

Two optional steps let an endpoint do more per request than translate: ``prepare`` (awaited
between decoding and the call: it turns the call into the ``ChatRequest``, e.g. after looking
up stored history), and an ``encode`` that returns an awaitable (e.g. to store the answer before
it is sent); an ``encode_stream`` is an async generator and may await what it needs before its
last event. Without ``prepare`` the decoded call is the ``ChatRequest`` itself.

The handler is a raw ASGI route (the hot path: Litestar routes it and renders its errors with
the frontdoor's exception handlers, but builds no request or response objects). Given an
``InFlight`` (the metrics' in-flight gauge), it counts the request in flight from its decoding
to the end of its answer, under its frontdoor and whether it streams (both gauge children are
taken when the route is built).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from litestar.handlers import asgi
from litestar.handlers.asgi_handlers import ASGIRouteHandler
from litestar.types import Receive, Scope, Send

from adapters.inbound.context import header_values, read_body, record_in, require_post, send_body
from adapters.inbound.streaming import send_sse
from domain.ir import ChatRequest, ChatResponse, EventStream
from domain.offload import is_large_body, off_loop
from domain.request_record import RequestRecord
from domain.service import ChatService

C = TypeVar("C")  # what an endpoint decodes a body into: a ChatRequest, or its own call

_NO_HEADERS: Mapping[str, str] = {}


class Gauge(Protocol):
    def inc(self) -> None: ...

    def dec(self) -> None: ...


InFlight = Callable[[str, bool], Gauge]  # (frontdoor, stream) -> the gauge to move


class _NoGauge:
    def inc(self) -> None:
        pass

    def dec(self) -> None:
        pass


@dataclass(frozen=True, slots=True)
class ChatEndpoint(Generic[C]):
    """One chat endpoint of a frontdoor, as the chat route runs it."""

    path: str  # below the app's path, e.g. "/v1/chat/completions"
    protocol: str  # the frontdoor's, for the request's record
    decode: Callable[[bytes, Mapping[str, str]], C]  # body, client headers -> call (may run off the loop)
    encode: Callable[[ChatResponse, C, RequestRecord], bytes | Awaitable[bytes]]
    encode_stream: Callable[[EventStream, C, RequestRecord], AsyncIterator[bytes]]
    prepare: Callable[[C], Awaitable[ChatRequest]] | None = None  # None: the call is the ChatRequest
    headers: frozenset[bytes] = frozenset()  # client headers decode gets (lower-case names)


async def read_call(
    scope: Scope,
    receive: Receive,
    app: str,
    protocol: str,
    max_body_bytes: int,
    decode: Callable[[bytes, Mapping[str, str]], C],
    headers: frozenset[bytes] = frozenset(),
) -> tuple[RequestRecord, C]:
    """The first steps of any POST endpoint of a frontdoor: the request's record, labelled; POST
    only; the body, within ``max_body_bytes``; and the body decoded (with the client headers
    among ``headers``), on the heavy-work thread when it is large."""
    record = record_in(scope, app, protocol)
    require_post(scope)
    body = await read_body(scope, receive, max_body_bytes)
    client = header_values(scope, headers) if headers else _NO_HEADERS
    call = await off_loop(decode, body, client) if is_large_body(len(body)) else decode(body, client)
    return record, call


def chat_route(
    service: ChatService,
    app: str,
    max_body_bytes: int,
    endpoint: ChatEndpoint[Any],
    in_flight: InFlight | None = None,
) -> ASGIRouteHandler:
    """The route handler of ``endpoint`` for the app ``app``."""
    decode, prepare, wanted = endpoint.decode, endpoint.prepare, endpoint.headers
    encode, encode_stream, protocol = endpoint.encode, endpoint.encode_stream, endpoint.protocol
    gauges: tuple[Gauge, Gauge] = (
        (in_flight(protocol, False), in_flight(protocol, True)) if in_flight else (_NoGauge(), _NoGauge())
    )

    @asgi(endpoint.path, is_mount=False, copy_scope=False)
    async def chat(scope: Scope, receive: Receive, send: Send) -> None:
        # read_call's steps, inline: no extra coroutine on the hot path
        record = record_in(scope, app, protocol)
        require_post(scope)
        body = await read_body(scope, receive, max_body_bytes)
        headers = header_values(scope, wanted) if wanted else _NO_HEADERS
        call = await off_loop(decode, body, headers) if is_large_body(len(body)) else decode(body, headers)
        request: ChatRequest = call if prepare is None else await prepare(call)
        stream = record.stream = request.stream
        gauge = gauges[stream]
        gauge.inc()
        try:
            if stream:
                frames = encode_stream(await service.stream(request, record), call, record)
                del body, headers, call, request  # nothing of the request is kept for the stream's life
                await send_sse(send, frames)
                return
            response = await service.complete(request, record)
            answer = encode(response, call, record)
            await send_body(send, answer if isinstance(answer, bytes) else await answer)
        finally:
            gauge.dec()

    return chat
