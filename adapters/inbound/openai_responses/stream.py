"""IR events -> the Responses API's SSE events (``event: <type>`` + ``data: {...}``).

The lifecycle: ``response.created`` and ``response.in_progress`` when the upstream's answer
starts; per output item ``response.output_item.added``, its content events, then
``response.output_item.done``; last ``response.completed`` (or ``response.incomplete``) with
the whole Response, so a client that only reads the final event (the SDK's
``responses.stream(...).get_final_response()``, the Agents SDK) has everything.

- One response id (the call's) throughout; ``sequence_number`` counts every event from 0.
- ``output_index`` numbers items in the order they open, whatever the IR block indexes and
  whatever kinds come first (tool calls before text included); ``item_id`` and
  ``content_index`` are fixed per item.
- Items: text -> ``message`` (one ``output_text`` part; consecutive text blocks share it),
  ``tool_use`` -> ``function_call`` (arguments streamed as they come) or, for a custom tool,
  ``custom_tool_call`` (its input sent whole when the call is), thinking ->
  ``reasoning`` (its text as summary deltas, its state in ``encrypted_content`` of the done
  item). An item is closed (``.done`` events) when the next one opens, or at the end, when
  the stop reason is known: the last item of a response cut short is ``incomplete``.
- An IR ``StreamError`` after the start becomes an ``error`` event then ``response.failed``
  (its ``error`` in the Response), and the stream ends.
- ``on_final`` is awaited with the final Response before its event is sent: a follow-up sent
  the moment the stream ends finds what the caller stored there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import assert_never

from adapters.inbound.openai_responses.decode import ResponsesCall
from adapters.inbound.openai_responses.stream_output import TEXT, StreamOutput
from adapters.protocols.openai.responses.response import Response
from domain.ir import (
    BlockDelta,
    BlockStart,
    BlockStop,
    EventStream,
    MessageDelta,
    MessageStart,
    MessageStop,
    Ping,
    StreamError,
    TextDelta,
    Usage,
    merge_usage,
)
from domain.request_record import RequestRecord

FinalHook = Callable[[Response], Awaitable[None]]


async def _encode_events(
    events: EventStream, call: ResponsesCall, record: RequestRecord, on_final: FinalHook | None
) -> AsyncIterator[bytes]:
    out = StreamOutput(call, record)
    frames = out.frames
    final: Response | None = None
    async with aclosing(events):
        async for event in events:
            if out.head is None and not isinstance(event, MessageStart):
                out.start(call.head.model, Usage())  # a stream must open with MessageStart; be robust
            match event:
                case BlockDelta(delta=TextDelta(text=text)) if out.open.get(event.index) is TEXT:
                    if text:  # the usual event, first
                        out.text(text)
                case MessageStart():
                    out.start(event.model, event.usage)
                case BlockStart():
                    out.block_start(event.index, event.block)
                case BlockDelta():
                    out.delta(event.index, event.delta)
                case BlockStop():
                    out.block_stop(event.index)
                case MessageDelta():
                    out.stop_reason = event.stop_reason
                    out.usage = merge_usage(out.usage, event.usage)
                case MessageStop() | Ping():
                    pass
                case StreamError():
                    final = out.fail(event.kind, event.message)
                    break
                case _:
                    assert_never(event)
            if frames:
                yield b"".join(frames)
                frames.clear()
    if out.head is None:  # an empty event stream (the service never hands one over)
        out.start(call.head.model, Usage())
    if final is None:
        final = out.complete()
    if on_final is not None:
        await on_final(final)
    out.final(final)
    yield b"".join(frames)


def encode_stream(
    events: EventStream,
    call: ResponsesCall,
    record: RequestRecord,
    on_final: FinalHook | None = None,
) -> AsyncIterator[bytes]:
    """Complete SSE frames of the Responses event stream for ``call``; ``on_final`` (when
    given) is awaited with the final Response before the event that carries it."""
    return _encode_events(events, call, record, on_final)
