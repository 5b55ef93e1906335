"""IR events -> Anthropic SSE frames (``event: X\\ndata: Y\\n\\n``).

Native mode (the upstream speaks Anthropic): each event's ``native`` data is relayed as is, under
the event name of the IR event (or, for ``Ping``-carried frames, the data's own ``type``); only
``message_start`` is rewritten, and only when the route has an alias. Events without native data
are skipped, except a gateway-made ``StreamError``, which is encoded.

Translated mode: Anthropic's documented grammar, built from the IR: ``message_start`` (empty
content, usage so far), per block ``content_block_start`` / ``content_block_delta`` /
``content_block_stop``, ``message_delta`` (stop reason, ``output_tokens``, and the input counts
when the IR has them at that point: OpenAI upstreams report usage in their last chunk),
``message_stop``. Blocks start empty as Anthropic's do (a start that carries content is followed
by a delta holding it). Blocks Anthropic cannot hold are dropped, so output indexes are
renumbered to stay contiguous (they equal the IR's when nothing is dropped). IR pings are not
forwarded. A ``StreamError`` becomes an ``error`` event and ends the stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import assert_never

import msgspec

from adapters.inbound.anthropic.encode import (
    input_tokens_out,
    message_id,
    stop_reason_out,
    usage_out,
)
from adapters.inbound.anthropic.errors import error_payload
from adapters.protocols.anthropic.request import tool_id
from adapters.protocols.anthropic.response import (
    DeltaUsageOut,
    EventType,
    MessageOut,
    RedactedThinkingOut,
    ToolUseOut,
)
from adapters.protocols.model_field import replace_model
from domain.ir import (
    AnyBlock,
    AnyEvent,
    BlockDelta,
    BlockStart,
    BlockStop,
    ChatRequest,
    Delta,
    EventStream,
    ImageBlock,
    MessageDelta,
    MessageStart,
    MessageStop,
    OpaqueBlock,
    Ping,
    RedactedThinkingBlock,
    SignatureDelta,
    StreamError,
    TextBlock,
    TextDelta,
    ThinkingBlock,
    ThinkingDelta,
    ToolInputDelta,
    ToolResultBlock,
    ToolUseBlock,
)
from domain.ir.arguments import EMPTY_OBJECT
from domain.request_record import RequestRecord

_encode = msgspec.json.Encoder().encode
_decode_type = msgspec.json.Decoder(EventType).decode
_decode_fields = msgspec.json.Decoder(dict[str, msgspec.Raw]).decode


def _frame(event: bytes, data: bytes) -> bytes:
    if b"\n" in data:  # never from a JSON encoder; keep SSE framing intact for odd upstreams
        data = data.replace(b"\n", b"\ndata: ")
    return b"event: " + event + b"\ndata: " + data + b"\n\n"


MESSAGE_STOP = b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
_START_HEAD = b'event: content_block_start\ndata: {"type":"content_block_start","index":'
_DELTA_HEAD = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":'
_STOP_HEAD = b'event: content_block_stop\ndata: {"type":"content_block_stop","index":'
_EMPTY_TEXT = b'{"type":"text","text":""}'
_EMPTY_THINKING = b'{"type":"thinking","thinking":"","signature":""}'
_DELTA_PREFIX = {
    TextDelta: b',"delta":{"type":"text_delta","text":',
    ToolInputDelta: b',"delta":{"type":"input_json_delta","partial_json":',
    ThinkingDelta: b',"delta":{"type":"thinking_delta","thinking":',
    SignatureDelta: b',"delta":{"type":"signature_delta","signature":',
}
_EMPTY_JSON = (b"", b"{}")

_NATIVE_NAMES: dict[type, bytes] = {
    MessageStart: b"message_start",
    BlockStart: b"content_block_start",
    BlockDelta: b"content_block_delta",
    BlockStop: b"content_block_stop",
    MessageDelta: b"message_delta",
    MessageStop: b"message_stop",
    StreamError: b"error",
}


def error_frame(event: StreamError) -> bytes:
    return _frame(b"error", error_payload(event.kind, event.message))


# --------------------------------------------------------------------------- native mode


def _native_frame(event: AnyEvent, data: bytes, alias: str | None) -> bytes:
    name = _NATIVE_NAMES.get(type(event))
    if name is None:  # a Ping carrying a ping or an event the IR does not model
        try:
            name = _decode_type(data).type.encode()
        except (msgspec.DecodeError, msgspec.ValidationError):
            name = b""
        if not name or b"\n" in name or b"\r" in name:  # keep the SSE framing intact
            name = b"ping"
    elif alias and name == b"message_start":
        fields = _decode_fields(data)
        fields["message"] = msgspec.Raw(replace_model(fields["message"], alias))
        data = _encode(fields)
    return _frame(name, data)


async def _native_frames(events: EventStream, alias: str | None) -> AsyncIterator[bytes]:
    async with aclosing(events):
        async for event in events:
            data = event.native
            if data is None:
                if isinstance(event, StreamError):
                    yield error_frame(event)
                    return
                continue
            yield _native_frame(event, data, alias)
            if type(event) is StreamError:  # exact types: see domain/stream_guard.py
                return


# --------------------------------------------------------------------------- translated mode


def _delta(index: int, delta: Delta) -> bytes:
    match delta:
        case TextDelta():
            value = delta.text
        case ToolInputDelta():
            value = delta.partial_json
        case ThinkingDelta():
            value = delta.thinking
        case SignatureDelta():
            value = delta.signature
        case _:
            assert_never(delta)
    return _DELTA_HEAD + b"%d" % index + _DELTA_PREFIX[type(delta)] + _encode(value) + b"}}\n\n"


def _block_start(index: int, block: AnyBlock) -> list[bytes] | None:
    """Frames opening ``block`` (start, then a delta for content it already has), or None."""
    head = _START_HEAD + b"%d" % index + b',"content_block":'
    match block:
        case TextBlock():
            frames = [head + _EMPTY_TEXT + b"}\n\n"]
            if block.text:
                frames.append(_delta(index, TextDelta(text=block.text)))
        case ThinkingBlock():
            frames = [head + _EMPTY_THINKING + b"}\n\n"]
            if block.thinking:
                frames.append(_delta(index, ThinkingDelta(thinking=block.thinking)))
            if isinstance(block.signature, str) and block.signature:
                frames.append(_delta(index, SignatureDelta(signature=block.signature)))
        case ToolUseBlock():
            start = ToolUseOut(id=tool_id(block.id), name=block.name, input=EMPTY_OBJECT)
            frames = [head + _encode(start) + b"}\n\n"]
            arguments = bytes(block.input).strip()
            if arguments not in _EMPTY_JSON:
                frames.append(_delta(index, ToolInputDelta(partial_json=arguments.decode())))
        case RedactedThinkingBlock():
            frames = [head + _encode(RedactedThinkingOut(data=block.data)) + b"}\n\n"]
        case OpaqueBlock():
            if block.protocol != "anthropic":
                return None
            frames = [head + bytes(block.data) + b"}\n\n"]
        case ImageBlock() | ToolResultBlock():
            return None
        case _:
            assert_never(block)
    return frames


def _message_start(event: MessageStart, model: str) -> bytes:
    message = MessageOut(
        id=message_id(event.id), model=model, content=[], stop_reason=None, stop_sequence=None,
        usage=usage_out(event.usage),
    )
    return b'event: message_start\ndata: {"type":"message_start","message":' + _encode(message) + b"}\n\n"


def _message_delta(event: MessageDelta) -> bytes:
    usage = event.usage
    output = usage.output_tokens if isinstance(usage.output_tokens, int) else 0
    if isinstance(usage.input_tokens, int):
        input_tokens, cache_creation, cache_read = input_tokens_out(usage)
        wire_usage = DeltaUsageOut(
            output_tokens=output, input_tokens=input_tokens,
            cache_creation_input_tokens=cache_creation, cache_read_input_tokens=cache_read,
        )
    else:
        wire_usage = DeltaUsageOut(output_tokens=output)
    return (
        b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":'
        + _encode(stop_reason_out(event.stop_reason))
        + b',"stop_sequence":'
        + _encode(event.stop_sequence)
        + b'},"usage":'
        + _encode(wire_usage)
        + b"}\n\n"
    )


async def _translated_frames(events: EventStream, alias: str | None) -> AsyncIterator[bytes]:
    indexes: dict[int, int] = {}  # IR index -> output index, for blocks that were emitted
    open_blocks: list[int] = []  # output indexes started and not stopped
    delta_sent = False
    async with aclosing(events):
        async for event in events:
            match event:  # the usual event first: a class pattern that fails costs an isinstance
                case BlockDelta():
                    emitted = indexes.get(event.index)
                    if emitted is not None:
                        yield _delta(emitted, event.delta)
                case MessageStart():
                    yield _message_start(event, alias or event.model)
                case BlockStart():
                    frames = _block_start(len(indexes), event.block)
                    if frames is None:
                        continue
                    index = indexes[event.index] = len(indexes)
                    open_blocks.append(index)
                    for chunk in frames:
                        yield chunk
                case BlockStop():
                    emitted = indexes.get(event.index)
                    if emitted is not None and emitted in open_blocks:
                        open_blocks.remove(emitted)
                        yield _STOP_HEAD + b"%d" % emitted + b"}\n\n"
                case MessageDelta():
                    for index in open_blocks:  # the IR closes blocks first; be safe if it did not
                        yield _STOP_HEAD + b"%d" % index + b"}\n\n"
                    open_blocks.clear()
                    delta_sent = True
                    yield _message_delta(event)
                case MessageStop():
                    if not delta_sent:
                        yield _message_delta(MessageDelta())
                    yield MESSAGE_STOP
                case StreamError():
                    yield error_frame(event)
                    return
                case Ping():
                    pass
                case _:
                    assert_never(event)


def encode_stream(
    events: EventStream, request: ChatRequest, record: RequestRecord
) -> AsyncIterator[bytes]:
    """Complete SSE frames for an Anthropic client; closes ``events`` when done or closed."""
    if record.upstream_protocol == "anthropic":
        return _native_frames(events, record.alias)
    return _translated_frames(events, record.alias)
