"""Responses API traffic relayed to an upstream that speaks it (``responses: true``: OpenAI).

A Responses client's request arrives with its body's fields (``NativeRequest`` of protocol
``openai_responses``, its ``input`` already holding the history ``previous_response_id``
named); it is POSTed to ``{base_url}/responses`` with only the model replaced, so every field
the gateway does not model reaches the upstream. The answer is read only for what routing and
logging need (id, model, status, usage: ``heads.py``) and carried as it came:

- non-streaming: ``NativeResponse(protocol="openai_responses", body)``;
- streaming: the first event yields ``MessageStart``, the final one (``response.completed``,
  ``.incomplete``, ``.failed``) ``MessageDelta`` with the usage, every other one ``Ping``, each
  with the event's data as ``native``; then ``MessageStop``. An ``error`` event before anything
  else is an ordinary error; after, a ``StreamError`` (scrubbed) that ends the stream; a stream
  that ends without a final event fails as one cut short.
"""

from __future__ import annotations

from typing import Any

import msgspec

from adapters.outbound.errors import kind_of_names
from adapters.outbound.openai.stream import Opener
from adapters.outbound.scrub import Scrubber
from adapters.protocols.openai.responses.heads import (
    FINAL_EVENTS,
    RELAYED,
    EventHead,
    ResponseHead,
    UsageHead,
)
from domain.errors import ErrorKind, GatewayError
from domain.ir import (
    UNSET,
    AnyEvent,
    ChatRequest,
    ChatResponse,
    EventStream,
    MessageDelta,
    MessageStart,
    MessageStop,
    NativeResponse,
    Ping,
    StopReason,
    Usage,
)

_encode = msgspec.json.Encoder().encode
_response = msgspec.json.Decoder(ResponseHead)
_event = msgspec.json.Decoder(EventHead)
_STOPS: dict[str, StopReason] = {"max_output_tokens": "max_tokens", "content_filter": "content_filter"}


def relays(request: ChatRequest) -> bool:
    native = request.native
    return native is not UNSET and native.protocol == RELAYED


def build_body(request: ChatRequest, model: str, settings: Any) -> bytes:
    assert request.native is not UNSET
    fields = dict(request.native.fields)
    fields["model"] = msgspec.Raw(_encode(model))
    return _encode(fields)


def usage_of(usage: UsageHead | None) -> Usage:
    if usage is None:
        return Usage()
    cached = (usage.input_tokens_details or {}).get("cached_tokens")
    reasoning = (usage.output_tokens_details or {}).get("reasoning_tokens")
    return Usage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=cached if isinstance(cached, int) else UNSET,
        reasoning_tokens=reasoning if isinstance(reasoning, int) else UNSET,
    )


def stop_of(head: ResponseHead) -> StopReason | None:
    if head.status == "incomplete":
        reason = head.incomplete_details.reason if head.incomplete_details else None
        return _STOPS.get(reason or "", "max_tokens")
    return "end_turn"


def parse_response(body: bytes) -> ChatResponse:
    try:
        head = _response.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise GatewayError(ErrorKind.PROTOCOL, f"Upstream sent an unreadable response: {exc}") from None
    return ChatResponse(
        id=head.id,
        model=head.model,
        content=[],
        stop_reason=stop_of(head),
        usage=usage_of(head.usage),
        native=NativeResponse(protocol=RELAYED, body=body),
    )


async def parse_stream(opener: Opener, scrub: Scrubber) -> EventStream:
    try:
        started = False
        async with opener as reads:
            done = False
            async for frames in reads:
                for frame in frames:
                    data = frame.data
                    if data == b"[DONE]":
                        done = True
                        break
                    try:
                        head = _event.decode(data)
                    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                        raise GatewayError(
                            ErrorKind.PROTOCOL, f"Upstream sent an unreadable event: {exc}"
                        ) from None
                    event: AnyEvent
                    final = False
                    if head.type == "error":
                        kind = kind_of_names(head.code, None)
                        message = head.message or "Upstream reported an error."
                        if not started:
                            raise GatewayError(kind, message)
                        yield scrub.stream_error(kind.value, message, data)
                        return
                    response = head.response
                    if not started:
                        started = True
                        event = MessageStart(
                            id=response.id if response else "",
                            model=response.model if response else "",
                            native=data,
                        )
                    elif head.type in FINAL_EVENTS and response is not None:
                        final = True
                        event = MessageDelta(
                            stop_reason=stop_of(response), usage=usage_of(response.usage), native=data
                        )
                    else:
                        event = Ping(native=data)
                    yield event
                    if final:
                        yield MessageStop()
                        return
                if done:
                    break
            if started:
                raise GatewayError(ErrorKind.UNAVAILABLE, "upstream stream ended early")
    except GatewayError as exc:
        raise scrub.error(exc) from None
