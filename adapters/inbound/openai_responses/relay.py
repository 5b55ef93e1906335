"""Responses traffic to and from an upstream that speaks the Responses API itself (an OpenAI
provider with ``responses: true``): the client's body and the upstream's answer go through as
they are, with only what the gateway owns rewritten.

- The request (``native_request``): the client's fields, ``input`` replaced by the whole
  conversation (the stored history ``previous_response_id`` named, then the turn's input) and
  ``previous_response_id`` left out (the upstream never saw the gateway's ids). Stored items
  lose their ``id`` (it may be one the gateway minted, which the upstream would look up), but
  reasoning items keep theirs; reasoning items the gateway sealed for another provider kind
  (``gateway.v1.`` state) are left out: only the kind that produced reasoning state gets it back.
- The answer: the Response keeps every member the upstream wrote; its ``id`` becomes the
  call's, ``previous_response_id`` the client's, ``model`` the route's alias when there is one.
  In a stream the lifecycle events' Response gets the same; every other event goes as it came.
  A failure the gateway saw itself (an idle upstream) ends the stream with an ``error`` event
  and ``response.failed``, numbered after the upstream's events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Any

import msgspec

from adapters.inbound.openai_responses.decode import ResponsesCall
from adapters.inbound.openai_responses.encode import failure
from adapters.inbound.openai_responses.reasoning import PREFIX
from adapters.protocols.openai.responses.heads import FINAL_EVENTS, RELAYED, EventHead
from domain.ir import EventStream, NativeRequest, StreamError
from domain.request_record import RequestRecord

_encode = msgspec.json.Encoder().encode
_object = msgspec.json.Decoder(dict[str, Any])
_event = msgspec.json.Decoder(EventHead)
_SEALED = b'"encrypted_content":"' + PREFIX.encode()
_fields = msgspec.json.Decoder(dict[str, msgspec.Raw])
_REASONING = msgspec.Raw(b'"reasoning"')
_OMITTED = ("previous_response_id",)
StoreHook = Callable[[bytes], Awaitable[None]]  # the final Response's body, before it is sent


def native_request(call: ResponsesCall) -> NativeRequest:
    fields = {name: value for name, value in call.fields.items() if name not in _OMITTED}
    items: list[Any] = [_without_id(item) for item in call.history if _SEALED not in bytes(item)]
    items += [item for item in call.input_items if _SEALED not in bytes(item)]
    fields["input"] = msgspec.Raw(_encode(items))
    return NativeRequest(protocol=RELAYED, fields=fields)


def _without_id(item: msgspec.Raw) -> Any:
    if b'"id"' not in bytes(item):
        return item
    fields = _fields.decode(item)
    if fields.get("type") != _REASONING:
        fields.pop("id", None)
    return fields


def is_relayed(first: bytes | None) -> bool:
    """Whether a stream's first native frame is a Responses event (not a Chat chunk)."""
    if first is None or b'"response.' not in first:
        return False
    try:
        return _event.decode(first).type.startswith("response.")
    except (msgspec.DecodeError, msgspec.ValidationError):
        return False


def _own(response: dict[str, Any], call: ResponsesCall, record: RequestRecord) -> None:
    response["id"] = call.response_id
    response["previous_response_id"] = call.previous_response_id
    if record.alias:
        response["model"] = record.alias


def relayed_body(body: bytes, call: ResponsesCall, record: RequestRecord) -> bytes:
    response = _object.decode(body)
    _own(response, call, record)
    return _encode(response)


async def relayed_frames(
    events: EventStream, call: ResponsesCall, record: RequestRecord, on_final: StoreHook | None
) -> AsyncIterator[bytes]:
    upstream_id: bytes | None = None
    sent = 0  # upstream events relayed: the next sequence number
    response: dict[str, Any] = {}  # the Response as the stream opened
    async with aclosing(events):
        async for event in events:
            data = event.native
            if data is None:
                if isinstance(event, StreamError):  # a failure the gateway saw, not the upstream
                    yield _failed(event, sent, response, call, record)
                    return
                continue
            sent += 1
            head = _event.decode(data)
            if head.type in FINAL_EVENTS:
                frame = _object.decode(data)
                _own(frame["response"], call, record)
                if on_final is not None:
                    await on_final(_encode(frame["response"]))
                data = _encode(frame)
            elif head.response is not None:
                if upstream_id is None:
                    upstream_id = b'"' + head.response.id.encode() + b'"'
                    response = _object.decode(data).get("response") or {}
                data = data.replace(upstream_id, b'"' + call.response_id.encode() + b'"')
            yield b"event: " + head.type.encode() + b"\ndata: " + data + b"\n\n"
            if isinstance(event, StreamError):
                return


def _failed(
    error: StreamError, sent: int, response: dict[str, Any], call: ResponsesCall, record: RequestRecord
) -> bytes:
    """The ``error`` event and ``response.failed`` for a failure without an upstream frame."""
    reason = failure(error.kind, error.message)
    failed = {**response, "status": "failed", "error": {"code": reason.code, "message": reason.message}}
    _own(failed, call, record)
    head = {"type": "error", "sequence_number": sent, "code": reason.code, "message": error.message}
    last = {"type": "response.failed", "sequence_number": sent + 1, "response": failed}
    return (
        b"event: error\ndata: " + _encode({**head, "param": None}) + b"\n\n"
        b"event: response.failed\ndata: " + _encode(last) + b"\n\n"
    )
