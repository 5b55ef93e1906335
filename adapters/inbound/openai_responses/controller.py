"""The Responses API's endpoints on an OpenAI frontdoor: ``POST /v1/responses`` on the shared
chat route, and ``GET`` / ``DELETE /v1/responses/{id}`` over the stored turns.

Per request: ``parse`` decodes the body; ``prepare`` looks up the turn ``previous_response_id``
names (an unknown or expired id is a 404) and builds the IR from its history and the new input;
the answer is encoded, and with ``store`` (the default) the turn is written to the mount's
``ConversationStore`` *before* the body or the final stream event is sent, so a follow-up sent
the moment the answer ends finds it. ``store: false`` keeps nothing. A store that fails to
write is logged and the answer still goes out (its id is then unknown to a follow-up).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import aclosing
from typing import Any, cast

import msgspec
import structlog
from litestar import Request, Response, delete, get
from litestar.handlers import BaseRouteHandler

from adapters.inbound.chat_route import ChatEndpoint
from adapters.inbound.openai_responses.decode import ResponsesCall, parse, to_ir
from adapters.inbound.openai_responses.encode import encode_response, from_ir
from adapters.inbound.openai_responses.history import history_items, stored_response, turn_record
from adapters.inbound.openai_responses.relay import is_relayed, native_request, relayed_body, relayed_frames
from adapters.inbound.openai_responses.stream import encode_stream
from adapters.protocols.openai.responses.heads import RELAYED
from adapters.protocols.openai.responses.response import Response as WireResponse
from domain.errors import ErrorKind, GatewayError
from domain.ir import UNSET, AnyEvent, ChatRequest, ChatResponse, EventStream
from domain.ports import ConversationStore
from domain.request_record import RequestRecord

log = structlog.get_logger(__name__)

PATH = "/v1/responses"
JSON = "application/json"
_encode = msgspec.json.Encoder().encode


class _Deleted(msgspec.Struct):
    id: str
    object: str = "response"
    deleted: bool = True


def not_found(response_id: str, param: str | None = None) -> GatewayError:
    return GatewayError(
        ErrorKind.NOT_FOUND, f"Response with id '{response_id}' not found.", param=param
    )


def _decode(body: bytes, headers: Mapping[str, str]) -> ResponsesCall:
    return parse(body)


Keep = Callable[[WireResponse | bytes], Awaitable[None]]  # stores the final Response of a turn


class Turns:
    """The stored turns of one app: what the endpoint and its routes read and write."""

    def __init__(self, store: ConversationStore, ttl: float) -> None:
        self.store = store
        self.ttl = ttl

    async def prepare(self, call: ResponsesCall) -> ChatRequest:
        previous = call.previous_response_id
        if previous is not None:
            stored = await self.store.get(previous)
            if stored is None:
                raise not_found(previous, "previous_response_id")
            call.history.extend(history_items(stored))
        request = to_ir(call, call.history)
        return msgspec.structs.replace(request, native=native_request(call))

    async def keep(self, call: ResponsesCall, response: WireResponse | bytes) -> None:
        try:
            await self.store.put(call.response_id, turn_record(call, call.history, response), self.ttl)
        except GatewayError as exc:
            log.warning("conversation.store_failed", response_id=call.response_id, error=exc.message)

    def encode(
        self, answer: ChatResponse, call: ResponsesCall, record: RequestRecord
    ) -> bytes | Awaitable[bytes]:
        native = answer.native
        response: WireResponse | bytes
        if native is not UNSET and native.protocol == RELAYED:
            body = response = relayed_body(native.body, call, record)
        else:
            response = from_ir(answer, call, record)
            body = encode_response(response)
        if not call.store:
            return body
        return self._kept(call, response, body)

    async def _kept(self, call: ResponsesCall, response: WireResponse | bytes, body: bytes) -> bytes:
        await self.keep(call, response)
        return body

    def encode_stream(
        self, events: EventStream, call: ResponsesCall, record: RequestRecord
    ) -> AsyncIterator[bytes]:
        async def on_final(response: WireResponse | bytes) -> None:
            await self.keep(call, response)

        hook = on_final if call.store else None
        if record.upstream_protocol != "openai":
            return encode_stream(events, call, record, hook)
        return self._openai_frames(events, call, record, hook)

    async def _openai_frames(
        self, events: EventStream, call: ResponsesCall, record: RequestRecord, hook: Keep | None
    ) -> AsyncIterator[bytes]:
        """An OpenAI upstream answered in Chat chunks (translated) or Responses events (relayed):
        its first event says which."""
        first = await anext(events)
        rest = _chain(first, events)
        frames = cast(
            AsyncGenerator[bytes, None],
            relayed_frames(rest, call, record, hook)
            if is_relayed(first.native)
            else encode_stream(rest, call, record, hook),
        )
        async with aclosing(frames):
            async for frame in frames:
                yield frame


async def _chain(first: AnyEvent, events: EventStream) -> EventStream:
    async with aclosing(events):
        yield first
        async for event in events:
            yield event


def endpoint(turns: Turns) -> ChatEndpoint[ResponsesCall]:
    return ChatEndpoint(
        path=PATH,
        protocol="openai",
        decode=_decode,
        encode=turns.encode,
        encode_stream=turns.encode_stream,
        prepare=turns.prepare,
    )


def routes(turns: Turns) -> list[BaseRouteHandler]:
    """``GET`` (the stored Response) and ``DELETE`` of a stored turn."""

    @get(PATH + "/{response_id:str}")
    async def retrieve_response(request: Request[Any, Any, Any]) -> Response[bytes]:
        response_id = request.path_params["response_id"]
        stored = await turns.store.get(response_id)
        if stored is None:
            raise not_found(response_id)
        return Response(stored_response(stored), media_type=JSON)

    @delete(PATH + "/{response_id:str}", status_code=200)
    async def delete_response(request: Request[Any, Any, Any]) -> Response[bytes]:
        response_id = request.path_params["response_id"]
        if not await turns.store.delete(response_id):
            raise not_found(response_id)
        return Response(_encode(_Deleted(id=response_id)), media_type=JSON)

    return [retrieve_response, delete_response]
