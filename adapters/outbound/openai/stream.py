"""An upstream chat.completion.chunk stream -> IR events.

OpenAI streams have no block boundaries: content, reasoning and tool-call fragments simply
arrive in deltas. The IR grammar is synthesised here: a block opens on the first non-empty
fragment of a kind (text, thinking, or a new tool-call index) and closes when another kind
starts or the choice finishes. The final ``MessageDelta`` waits for ``[DONE]`` (or the end of
the body after a finish_reason) so that it carries the usage of the trailing usage chunk.

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
import structlog

from adapters.outbound.openai.errors import error_object, kind_of
from adapters.outbound.openai.response import (
    new_call_id,
    reasoning_of,
    stop_of,
    text_of,
    usage_of,
)
from adapters.outbound.scrub import NO_SECRETS, Scrubber
from adapters.protocols.openai.response import ChatCompletionChunk, ChatCompletionChunkHead, Message, ToolCall
from adapters.protocols.sse import decode_sse
from domain.errors import ErrorKind, GatewayError
from domain.ir import (
    AnyEvent,
    BlockDelta,
    BlockStart,
    BlockStop,
    MessageDelta,
    MessageStart,
    MessageStop,
    Ping,
    StopReason,
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
from domain.ir.arguments import EMPTY_OBJECT

log = structlog.get_logger(__name__)

_decoder = msgspec.json.Decoder(ChatCompletionChunk)
_head_decoder = msgspec.json.Decoder(ChatCompletionChunkHead)
_replace = msgspec.structs.replace
DONE = b"[DONE]"


class _Blocks:
    """Which IR block is open, and the tool calls seen, for one stream."""

    __slots__ = ("by_index", "next_index", "open_index", "open_kind", "open_tool", "tool_ids", "tools")

    def __init__(self) -> None:
        self.next_index = 0
        self.open_index = -1
        self.open_kind: str | None = None  # "text" | "thinking" | "tool"
        self.open_tool: int | None = None  # key of the open tool call
        self.tools: dict[int, int] = {}  # tool-call key -> block index
        self.tool_ids: dict[int, str] = {}  # tool-call key -> the id the upstream gave it ("": none)
        self.by_index: dict[int, int] = {}  # upstream tool-call index -> key of its latest call

    def close(self, out: list[AnyEvent]) -> None:
        if self.open_kind is not None:
            out.append(BlockStop(index=self.open_index))
            self.open_kind = self.open_tool = None

    def _open(self, kind: str, block: TextBlock | ThinkingBlock | ToolUseBlock, out: list[AnyEvent]) -> None:
        self.close(out)
        self.open_index, self.open_kind = self.next_index, kind
        self.next_index += 1
        out.append(BlockStart(index=self.open_index, block=block))

    def text(self, text: str, out: list[AnyEvent]) -> None:
        if self.open_kind != "text":
            self._open("text", TextBlock(text=""), out)
        out.append(BlockDelta(index=self.open_index, delta=TextDelta(text=text)))

    def thinking(self, text: str, out: list[AnyEvent]) -> None:
        if self.open_kind != "thinking":
            self._open("thinking", ThinkingBlock(thinking=""), out)
        out.append(BlockDelta(index=self.open_index, delta=ThinkingDelta(thinking=text)))

    def _key(self, call: ToolCall) -> int:
        """The key of the call a fragment belongs to; keys count calls from 0 in arrival order.

        A fragment belongs to the call of its ``index``, unless it brings a new ``id``: some
        OpenAI-compatible servers (Gemini's) send every parallel call at index 0, each with its
        own id. Without an index (legacy function_call, a few servers) a new id starts a new call.
        """
        if isinstance(call.index, int):
            key = self.by_index.get(call.index)
            if key is None or (call.id and self.tool_ids[key] and call.id != self.tool_ids[key]):
                key = self.by_index[call.index] = len(self.tools)
            return key
        if self.open_tool is not None and (not call.id or call.id == self.tool_ids.get(self.open_tool)):
            return self.open_tool
        return len(self.tools)

    def tool(self, call: ToolCall, out: list[AnyEvent]) -> None:
        key = self._key(call)
        function = call.function or None
        if key not in self.tools:
            self.tool_ids[key] = call.id or ""  # the upstream's id: "" when it sent none
            name = (function.name if function else None) or ""
            block = ToolUseBlock(id=call.id or new_call_id(), name=name, input=EMPTY_OBJECT)
            self._open("tool", block, out)
            self.tools[key], self.open_tool = self.open_index, key
        elif self.open_tool != key:
            # A fragment for a call whose block already closed: the IR cannot reopen it.
            log.warning("stream.tool_fragment_late", tool_index=key)
            return
        arguments = function.arguments if function else None
        if arguments:
            out.append(BlockDelta(index=self.open_index, delta=ToolInputDelta(partial_json=arguments)))

    def delta(self, delta: Message, out: list[AnyEvent]) -> None:
        if thinking := reasoning_of(delta):
            self.thinking(thinking, out)
        text = text_of(delta.content)
        if delta.refusal:
            text += delta.refusal
        if text:
            self.text(text, out)
        for call in delta.tool_calls or ():
            self.tool(call, out)
        if delta.function_call:
            self.tool(ToolCall(function=delta.function_call), out)


Opener = AbstractAsyncContextManager[AsyncIterator[bytes]]


def parse_upstream(
    opener: Opener, *, relay_usage: bool, content: bool = True, scrub: Scrubber = NO_SECRETS
) -> AsyncIterator[AnyEvent]:
    """IR events of the chat.completion.chunk stream whose lines ``opener`` opens on the first
    ``__anext__`` (and closes with the iterator): the provider's stream is this generator, one
    hop less per event. Choice 0 becomes IR; other choices' frames only reach an OpenAI client
    through ``native``. ``content=False``: see the module's docstring."""
    return _content_events(opener, relay_usage, scrub) if content else _head_events(opener, relay_usage, scrub)


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


async def _content_events(opener: Opener, relay_usage: bool, scrub: Scrubber) -> AsyncIterator[AnyEvent]:
    try:
        blocks = _Blocks()
        started = finished = False
        stop_reason: StopReason | None = None
        stop_sequence: str | None = None
        usage = Usage()
        async with opener as lines:
            async for frame in decode_sse(lines):
                data = frame.data
                if data == DONE:
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
                        blocks.delta(choice.delta, out)
                    if choice.finish_reason:
                        blocks.close(out)
                        finished = True
                        has_tools = bool(blocks.tools)
                        stop_reason, stop_sequence = stop_of(
                            choice.finish_reason, choice.stop_reason, has_tools
                        )
                if out:
                    out[0] = _replace(out[0], native=data)
                    for event in out:
                        yield event
                elif chunk.choices or relay_usage or not chunk.usage:
                    yield Ping(native=data)
                # else: the usage chunk the client did not ask for; its usage goes in MessageDelta
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
                stop_reason = "tool_use" if blocks.tools else "end_turn"
            yield MessageDelta(stop_reason=stop_reason, stop_sequence=stop_sequence, usage=usage)
            yield MessageStop()
    except GatewayError as exc:
        raise scrub.error(exc) from None


async def _head_events(opener: Opener, relay_usage: bool, scrub: Scrubber) -> AsyncIterator[AnyEvent]:
    """``_content_events``' frames, natives and ending, reading only the chunks' heads."""
    try:
        started = finished = has_tools = False
        stop_reason: StopReason | None = None
        stop_sequence: str | None = None
        usage = Usage()
        async with opener as lines:
            async for frame in decode_sse(lines):
                data = frame.data
                if data == DONE:
                    break
                chunk, failed = _decode(_head_decoder, data, started, scrub)
                if failed is not None:
                    yield failed
                    return
                if not started and not chunk.choices and not (chunk.id or chunk.model):
                    yield Ping(native=data)  # Azure's prompt_filter_results chunk (see ``_content_events``)
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
