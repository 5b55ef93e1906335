"""An upstream chat.completion.chunk stream -> IR events.

OpenAI streams have no block boundaries: content, reasoning and tool-call fragments simply
arrive in deltas, which ``deltas.ChunkDeltas`` turns into IR blocks (``DeltaBlocks``, shared
with any kind that streams the same way). The final ``MessageDelta`` waits for ``[DONE]`` (or
the end of the body after a finish_reason) so that it carries the usage of the trailing usage
chunk.

Native rule: each frame's data rides on the first event it yields; a frame that yields no IR
event yields ``Ping(native=data)`` so a same-protocol frontdoor can still relay it. The
usage-only chunk (``choices: []``) is relayed only when the client asked for it
(``relay_usage``): the gateway forces ``include_usage`` upstream to log tokens.

Heads only (``content=False``: an OpenAI client, which gets the frames as they are): only what
the service and the stream's end need is read (ids, usage, the finish, an error frame); the first
chunk yields ``MessageStart`` and every other relayed frame a ``Ping``, each with its native
data, then ``MessageDelta`` and ``MessageStop`` as usual. The content is never parsed.

Errors: an error frame becomes a ``StreamError`` (before anything started, a ``GatewayError``),
its message and native data scrubbed of secrets; every ``GatewayError`` leaving the parser
(opening, reading, parsing) is scrubbed too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import msgspec

from adapters.outbound.openai.deltas import ChunkDeltas
from adapters.outbound.openai.errors import error_object, kind_of
from adapters.outbound.openai.response import stop_of, usage_of
from adapters.outbound.scrub import NO_SECRETS, Scrubber
from adapters.protocols.openai.response import ChatCompletionChunk, ChatCompletionChunkHead
from adapters.protocols.sse import SSEFrame
from domain.errors import ErrorKind, GatewayError
from domain.ir import (
    AnyEvent,
    BlockDelta,
    EventStream,
    MessageDelta,
    MessageStart,
    MessageStop,
    Ping,
    StopReason,
    StreamError,
    TextDelta,
    Usage,
    merge_usage,
)

_decoder = msgspec.json.Decoder(ChatCompletionChunk)
_head_decoder = msgspec.json.Decoder(ChatCompletionChunkHead)
_replace = msgspec.structs.replace
DONE = b"[DONE]"


Opener = AbstractAsyncContextManager[AsyncIterator[list[SSEFrame]]]


def parse_upstream(
    opener: Opener, *, relay_usage: bool, content: bool = True, scrub: Scrubber = NO_SECRETS
) -> EventStream:
    """IR events of the chat.completion.chunk stream whose frames ``opener`` opens on the first
    ``__anext__`` (and closes with the iterator): the provider's stream is this generator, one
    hop less per event. Choice 0 becomes IR; other choices' frames only reach an OpenAI client
    through ``native``. ``content=False``: see the module's docstring."""
    events = _content_events if content else _head_events
    return events(opener, relay_usage, scrub)


def _unreadable(exc: Exception) -> GatewayError:
    return GatewayError(ErrorKind.PROTOCOL, f"Upstream sent an unreadable stream chunk: {exc}")


def _decode(decoder: Any, data: bytes, started: bool, scrub: Scrubber) -> tuple[Any, StreamError | None]:
    """One frame's chunk, and the ``StreamError`` to end with when it is an error frame. Before
    anything was sent, an error frame is raised instead: an ordinary error (and a reason to fall
    back)."""
    try:
        chunk = decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise _unreadable(exc) from None
    if not chunk.error:
        return chunk, None
    error = error_object(chunk.error, "upstream")
    kind, message = kind_of(error), error.message or "Upstream reported an error."
    if not started:
        raise GatewayError(kind, message)
    return chunk, scrub.stream_error(kind.value, message, data)


async def _content_events(opener: Opener, relay_usage: bool, scrub: Scrubber) -> EventStream:
    try:
        deltas = ChunkDeltas()
        blocks = deltas.blocks
        started = finished = False
        stop_reason: StopReason | None = None
        stop_sequence: str | None = None
        usage = Usage()
        async with opener as reads:
            done = False
            async for frames in reads:
                for frame in frames:
                    data = frame.data
                    if data == DONE:
                        done = True
                        break
                    chunk, failed = _decode(_decoder, data, started, scrub)
                    if failed is not None:
                        yield failed
                        return
                    if started and not chunk.usage and len(chunk.choices) == 1:
                        # The usual frame, one more piece of the open text block: no detour via _Blocks.
                        choice = chunk.choices[0]
                        delta = choice.delta
                        if (
                            blocks.open_kind == "text"
                            and choice.index == 0
                            and not choice.finish_reason
                            and delta
                            and type(delta.content) is str
                            and delta.content
                            and not (delta.refusal or delta.tool_calls or delta.function_call)
                            and not (delta.reasoning_content or delta.reasoning)
                        ):
                            text = TextDelta(text=delta.content)
                            yield BlockDelta(index=blocks.open_index, delta=text, native=data)
                            continue
                    out: list[AnyEvent] = []
                    if not started:
                        if not chunk.choices and not (chunk.id or chunk.model):
                            # Azure opens with prompt_filter_results and no id or model: the message starts
                            # with the next chunk, which carries them.
                            yield Ping(native=data)
                            continue
                        started = True
                        out.append(MessageStart(id=chunk.id, model=chunk.model, created=chunk.created))
                    if chunk.usage:
                        usage = merge_usage(usage, usage_of(chunk.usage))
                    for choice in chunk.choices:
                        if choice.index != 0:
                            continue
                        if choice.delta:
                            deltas.add(choice.delta, out)
                        if choice.finish_reason:
                            blocks.close(out)
                            finished = True
                            stop_reason, stop_sequence = stop_of(
                                choice.finish_reason, choice.stop_reason, blocks.has_tools
                            )
                    if out:
                        out[0] = _replace(out[0], native=data)
                        for event in out:
                            yield event
                    elif chunk.choices or relay_usage or not chunk.usage:
                        yield Ping(native=data)
                    # else: the usage chunk the client did not ask for; its usage goes in MessageDelta
                if done:
                    break
            else:
                if not finished:
                    raise GatewayError(ErrorKind.UNAVAILABLE, "upstream stream ended early")
            if not started:
                return  # "[DONE]" alone: the service reports the empty stream
            if not finished:  # "[DONE]" without a finish_reason
                closing: list[AnyEvent] = []
                blocks.close(closing)
                for event in closing:
                    yield event
                stop_reason = "tool_use" if blocks.has_tools else "end_turn"
            yield MessageDelta(stop_reason=stop_reason, stop_sequence=stop_sequence, usage=usage)
            yield MessageStop()
    except GatewayError as exc:
        raise scrub.error(exc) from None


async def _head_events(opener: Opener, relay_usage: bool, scrub: Scrubber) -> EventStream:
    """``_content_events``' frames, natives and ending, reading only the chunks' heads."""
    try:
        started = finished = has_tools = False
        stop_reason: StopReason | None = None
        stop_sequence: str | None = None
        usage = Usage()
        async with opener as reads:
            done = False
            async for frames in reads:
                for frame in frames:
                    data = frame.data
                    if data == DONE:
                        done = True
                        break
                    chunk, failed = _decode(_head_decoder, data, started, scrub)
                    if failed is not None:
                        yield failed
                        return
                    if not started and not chunk.choices and not (chunk.id or chunk.model):
                        yield Ping(native=data)  # Azure's prompt_filter_results (see ``_content_events``)
                        continue
                    if chunk.usage:
                        usage = merge_usage(usage, usage_of(chunk.usage))
                    for choice in chunk.choices:
                        if choice.index != 0:
                            continue
                        delta = choice.delta
                        if delta and (delta.tool_calls or delta.function_call):
                            has_tools = True
                        if choice.finish_reason:
                            finished = True
                            stop_reason, stop_sequence = stop_of(
                                choice.finish_reason, choice.stop_reason, has_tools
                            )
                    if not started:
                        started = True
                        yield MessageStart(id=chunk.id, model=chunk.model, created=chunk.created, native=data)
                    elif chunk.choices or relay_usage or not chunk.usage:
                        yield Ping(native=data)
                if done:
                    break
            else:
                if not finished:
                    raise GatewayError(ErrorKind.UNAVAILABLE, "upstream stream ended early")
            if not started:
                return
            if not finished:
                stop_reason = "tool_use" if has_tools else "end_turn"
            yield MessageDelta(stop_reason=stop_reason, stop_sequence=stop_sequence, usage=usage)
            yield MessageStop()
    except GatewayError as exc:
        raise scrub.error(exc) from None
