"""Anthropic SSE stream -> IR events, one event per upstream event.

Anthropic's event grammar is the IR's, so the mapping is one to one and every event carries the
frame's data as ``native`` (an Anthropic frontdoor relays it untouched). Events or deltas the IR
does not model (``citations_delta``, event types added later) become ``Ping(native=data)``: a
native relay keeps them, other frontdoors ignore them. An ``error`` event becomes a
``StreamError`` (its message and native data scrubbed of secrets) and ends the stream; a stream
that ends before ``message_stop`` raises ``GatewayError(UNAVAILABLE)``. After ``message_stop``
the rest of the body is read (and ignored) so that the connection can go back to the pool.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import cast

import msgspec

from adapters.outbound.anthropic.errors import kind_of_type
from adapters.outbound.anthropic.response import block_to_ir, usage_to_ir
from adapters.outbound.scrub import NO_SECRETS, Scrubber
from adapters.protocols.anthropic import response as wire
from adapters.protocols.sse import SSEFrame
from domain.errors import ErrorKind, GatewayError
from domain.ir import (
    AnyEvent,
    BlockDelta,
    BlockStart,
    BlockStop,
    Delta,
    EventStream,
    MessageDelta,
    MessageStart,
    MessageStop,
    Ping,
    SignatureDelta,
    StopReason,
    StreamError,
    TextDelta,
    ThinkingDelta,
    ToolInputDelta,
    Usage,
)

_decode_event = msgspec.json.Decoder(wire.StreamEvent).decode


def _delta_to_ir(delta: wire.Delta) -> Delta | None:
    match delta.type:
        case "text_delta" if delta.text is not None:
            return TextDelta(text=delta.text)
        case "input_json_delta" if delta.partial_json is not None:
            return ToolInputDelta(partial_json=delta.partial_json)
        case "thinking_delta" if delta.thinking is not None:
            return ThinkingDelta(thinking=delta.thinking)
        case "signature_delta" if delta.signature is not None:
            return SignatureDelta(signature=delta.signature)
        case _:
            return None


def _event_to_ir(event: wire.StreamEvent, data: bytes, scrub: Scrubber) -> AnyEvent:
    """The IR event for one upstream event (``Ping`` for what the IR does not model)."""
    index = event.index
    match event.type:
        case "message_start" if event.message is not None:
            message = event.message
            usage = usage_to_ir(message.usage)
            return MessageStart(id=message.id, model=message.model, usage=usage, native=data)
        case "content_block_start" if index is not None and len(event.content_block):
            return BlockStart(index=index, block=block_to_ir(event.content_block), native=data)
        case "content_block_delta" if index is not None and event.delta is not None:
            delta = _delta_to_ir(event.delta)
            if delta is None:
                return Ping(native=data)
            return BlockDelta(index=index, delta=delta, native=data)
        case "content_block_stop" if index is not None:
            return BlockStop(index=index, native=data)
        case "message_delta":
            ending = event.delta or wire.Delta()
            usage = usage_to_ir(event.usage) if event.usage is not None else Usage()
            return MessageDelta(
                stop_reason=cast(StopReason | None, ending.stop_reason),  # Anthropic's vocabulary: as it is
                stop_sequence=ending.stop_sequence,
                usage=usage,
                native=data,
            )
        case "message_stop":
            return MessageStop(native=data)
        case "error":
            error = event.error or wire.ErrorObject()
            return scrub.stream_error(kind_of_type(error.type).value, error.message, data)
        case _:  # ping, and event types the IR does not model
            return Ping(native=data)


async def parse_upstream(
    opener: AbstractAsyncContextManager[AsyncIterator[list[SSEFrame]]], *, scrub: Scrubber = NO_SECRETS
) -> EventStream:
    """IR events of the ``/v1/messages`` stream whose frames ``opener`` opens on the first
    ``__anext__`` (and closes with the iterator): the provider's stream is this generator, one
    hop less per event. Its errors (opening, reading, parsing) leave it scrubbed."""
    stopped = False
    try:
        async with opener as reads:
            async for frames in reads:
                if stopped:  # drain: the body ends right after message_stop
                    continue
                for frame in frames:
                    data = frame.data
                    try:
                        ir = _event_to_ir(_decode_event(data), data, scrub)
                    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                        message = f"Unreadable Anthropic stream event: {exc}"
                        raise GatewayError(ErrorKind.PROTOCOL, message) from None
                    yield ir
                    if type(ir) is StreamError:  # exact types: see domain/stream_guard.py
                        return
                    if type(ir) is MessageStop:
                        stopped = True
                        break
            if not stopped:
                raise GatewayError(ErrorKind.UNAVAILABLE, "upstream stream ended early")
    except GatewayError as exc:
        raise scrub.error(exc) from None
