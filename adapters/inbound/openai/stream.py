"""IR events -> OpenAI chat.completion.chunk SSE frames.

Native mode (the upstream spoke OpenAI): each event's ``native`` frame is relayed, the model
replaced when the route has an alias; events without one are gateway-made and skipped.
Translated mode: chunks are assembled from pre-encoded fragments around the per-stream head
(id, created, model), the block boundaries of the IR dropped, tool calls numbered from 0.
Either way, an error after the start is a ``data: {"error": ...}`` frame and the stream ends
without ``[DONE]``, as OpenAI's does.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import assert_never
from uuid import uuid4

import msgspec

from adapters.inbound.openai.encode import FINISH_REASONS, wire_usage
from adapters.inbound.openai.errors import stream_error_frame
from domain.ir import (
    BlockDelta,
    BlockStart,
    BlockStop,
    ChatRequest,
    EventStream,
    MessageDelta,
    MessageStart,
    MessageStop,
    Ping,
    StreamError,
    TextBlock,
    TextDelta,
    ThinkingBlock,
    ThinkingDelta,
    ToolInputDelta,
    ToolUseBlock,
    Usage,
    merge_usage,
)
from domain.request_record import RequestRecord

_encode = msgspec.json.Encoder().encode
_fields = msgspec.json.Decoder(dict[str, msgspec.Raw])

DONE = b"data: [DONE]\n\n"
_DATA = b"data: "
_END = b"\n\n"
_CHOICE = b',"choices":[{"index":0,"delta":'
_NOT_FINISHED = b',"logprobs":null,"finish_reason":null}]'
_TAIL = b"}\n\n"
_TAIL_USAGE_NULL = b',"usage":null}\n\n'
_ROLE_DELTA = b'{"role":"assistant","content":"","refusal":null}'
_CONTENT = b'{"content":'
_CHOICE_CONTENT = _CHOICE + _CONTENT
_REASONING = b'{"reasoning_content":'
_TOOL_ARGS = b'{"tool_calls":[{"index":'
_ARGS = b',"function":{"arguments":'
_CLOSE_TOOL = b"}}]}"
_FINISH = {
    reason: b',"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"' + finish.encode() + b'"}]'
    for reason, finish in FINISH_REASONS.items()
}
_USAGE = b',"choices":[],"usage":'


def _head(id_: str, created: int, model: str) -> bytes:
    return (
        b'data: {"id":' + _encode(id_) + b',"object":"chat.completion.chunk","created":'
        + str(created).encode() + b',"model":' + _encode(model)
    )


class _ModelSwap:
    """Puts the alias in place of the upstream model in relayed chunks. A chunk is re-encoded
    with the alias when needed, and teaches the exact bytes of its ``"model":...`` member; the
    following ones get a byte replace of that member (a raw ``"model":"`` cannot occur inside a
    JSON string, where quotes are escaped; OpenAI puts the top-level ``model`` first)."""

    __slots__ = ("_new", "_old")

    def __init__(self, alias: str) -> None:
        self._new = b'"model":' + _encode(alias)
        self._old: bytes | None = None

    def __call__(self, chunk: bytes) -> bytes:
        old = self._old
        if old is not None and old in chunk:
            return chunk.replace(old, self._new, 1)
        fields = _fields.decode(chunk)
        model = fields.get("model")
        if model is None:
            return chunk
        self._old = b'"model":' + bytes(model)
        fields["model"] = msgspec.Raw(self._new[len(b'"model":') :])
        return _encode(fields)


async def _native_frames(events: EventStream, alias: str | None) -> AsyncIterator[bytes]:
    swap = _ModelSwap(alias) if alias else None
    async with aclosing(events):
        async for event in events:
            native = event.native
            if native is not None:
                payload = swap(native) if swap is not None else native
                if b"\n" in payload:  # data that came in several ``data:`` lines goes out so too
                    payload = payload.replace(b"\n", b"\ndata: ")
                yield _DATA + payload + _END
                if type(event) is StreamError:  # exact types: see domain/stream_guard.py
                    return
            elif type(event) is StreamError:
                yield stream_error_frame(event.kind, event.message)
                return
    yield DONE


async def _translated_frames(
    events: EventStream, include_usage: bool, record: RequestRecord, model: str
) -> AsyncIterator[bytes]:
    tail = _TAIL_USAGE_NULL if include_usage else _TAIL
    head = b""
    usage = Usage()
    tool_numbers: dict[int, bytes] = {}  # block index -> the tool call's OpenAI index
    finished = False

    end = _NOT_FINISHED + tail
    text_end = b"}" + end

    def chunk(delta: bytes) -> bytes:
        return b"".join((head, _CHOICE, delta, end))

    async with aclosing(events):
        async for event in events:
            if not head and not isinstance(event, MessageStart | StreamError):
                # A stream must open with MessageStart; be robust if one did not.
                head = _head(f"chatcmpl-{uuid4().hex}", int(time.time()), record.alias or model)
                yield chunk(_ROLE_DELTA)
            match event:  # the usual event first: a class pattern that fails costs an isinstance
                case BlockDelta(delta=TextDelta(text=text)):  # one join
                    yield b"".join((head, _CHOICE_CONTENT, _encode(text), text_end))
                case MessageStart():
                    created = event.created if isinstance(event.created, int) else int(time.time())
                    head = _head(event.id, created, record.alias or event.model)
                    usage = merge_usage(usage, event.usage)
                    yield chunk(_ROLE_DELTA)
                case BlockStart(block=ToolUseBlock() as block):
                    number = str(len(tool_numbers)).encode()
                    tool_numbers[event.index] = number
                    call = (
                        b',"id":' + _encode(block.id) + b',"type":"function","function":{"name":'
                        + _encode(block.name) + b',"arguments":""}}]}'
                    )
                    yield chunk(_TOOL_ARGS + number + call)
                case BlockStart(block=TextBlock(text=text)) if text:
                    yield chunk(_CONTENT + _encode(text) + b"}")
                case BlockStart(block=ThinkingBlock(thinking=text)) if text:
                    yield chunk(_REASONING + _encode(text) + b"}")
                case BlockDelta(delta=ThinkingDelta(thinking=text)):
                    yield chunk(_REASONING + _encode(text) + b"}")
                case BlockDelta(delta=ToolInputDelta(partial_json=fragment)):
                    call_number = tool_numbers.get(event.index)
                    if call_number is not None:
                        yield chunk(_TOOL_ARGS + call_number + _ARGS + _encode(fragment) + _CLOSE_TOOL)
                case MessageDelta():
                    usage = merge_usage(usage, event.usage)
                    finish = _FINISH.get(event.stop_reason, _FINISH[None])
                    yield head + finish + tail
                    finished = True
                case StreamError():
                    yield stream_error_frame(event.kind, event.message)
                    return
                case BlockStart() | BlockStop() | MessageStop() | Ping() | BlockDelta():
                    pass  # boundaries, pings and signatures: nothing in OpenAI's chunks
                case _:
                    assert_never(event)
    if not head:  # an empty event stream (the service never hands one over)
        head = _head(f"chatcmpl-{uuid4().hex}", int(time.time()), record.alias or model)
    if not finished:  # the grammar guarantees a MessageDelta; never end a chunk list without one
        yield head + _FINISH[None] + tail
    if include_usage:
        yield head + _USAGE + _encode(wire_usage(usage)) + _TAIL
    yield DONE


def encode_stream(
    events: EventStream, request: ChatRequest, record: RequestRecord
) -> AsyncIterator[bytes]:
    """Complete SSE frames (``data: ...\\n\\n``) of the chunk stream for an OpenAI client."""
    if record.upstream_protocol == "openai":
        return _native_frames(events, record.alias)
    return _translated_frames(events, request.include_usage is True, record, request.model)
