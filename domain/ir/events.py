"""Stream events: a stream is an async iterator of these, in this grammar::

    MessageStart (BlockStart BlockDelta* BlockStop)* MessageDelta MessageStop
    (Ping may appear anywhere; StreamError ends the stream early)

Block indexes count from 0 in the order blocks start. Each event may carry ``native``: the
upstream frame's data as received. A frontdoor of the same protocol as the upstream relays
those frames (skipping events without one) instead of re-encoding; other frontdoors ignore it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from domain.ir.base import UNSET, IRStruct, StopReason, UnsetType
from domain.ir.content import AnyBlock
from domain.ir.response import Usage


class StreamEvent(IRStruct, frozen=True, tag_field="event"):
    native: bytes | None = None


class MessageStart(StreamEvent, frozen=True, tag="message_start", kw_only=True):
    id: str
    model: str
    usage: Usage = Usage()
    created: int | UnsetType = UNSET


class BlockStart(StreamEvent, frozen=True, tag="block_start", kw_only=True):
    index: int
    block: AnyBlock  # text/thinking start empty; tool_use carries id and name, input ``{}``


class TextDelta(IRStruct, frozen=True, tag_field="type", tag="text"):
    text: str


class ToolInputDelta(IRStruct, frozen=True, tag_field="type", tag="tool_input"):
    partial_json: str


class ThinkingDelta(IRStruct, frozen=True, tag_field="type", tag="thinking"):
    thinking: str


class SignatureDelta(IRStruct, frozen=True, tag_field="type", tag="signature"):
    signature: str


Delta = TextDelta | ToolInputDelta | ThinkingDelta | SignatureDelta


class BlockDelta(StreamEvent, frozen=True, tag="block_delta", kw_only=True):
    index: int
    delta: Delta


class BlockStop(StreamEvent, frozen=True, tag="block_stop", kw_only=True):
    index: int


class MessageDelta(StreamEvent, frozen=True, tag="message_delta"):
    stop_reason: StopReason | None = None
    stop_sequence: str | None = None
    usage: Usage = Usage()


class MessageStop(StreamEvent, frozen=True, tag="message_stop"):
    pass


class Ping(StreamEvent, frozen=True, tag="ping"):
    pass


class StreamError(StreamEvent, frozen=True, tag="error", kw_only=True):
    """The stream failed after it started; ``kind`` is an ``ErrorKind`` value."""

    kind: str
    message: str


AnyEvent = (
    MessageStart
    | BlockStart
    | BlockDelta
    | BlockStop
    | MessageDelta
    | MessageStop
    | Ping
    | StreamError
)

# A stream of events: an async generator, whose ``aclose()`` also closes what it reads from
# (in the end, the upstream request).
EventStream = AsyncGenerator[AnyEvent, None]
