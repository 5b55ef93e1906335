"""Stream events: a stream is an async iterator of these, in this grammar::

    MessageStart (BlockStart BlockDelta* BlockStop)* MessageDelta MessageStop
    (Ping may appear anywhere; StreamError ends the stream early)

Block indexes count from 0 in the order blocks start. Each event may carry ``native``: the
upstream frame's data as received. A frontdoor of the same protocol as the upstream relays
those frames (skipping events without one) instead of re-encoding; other frontdoors ignore it.
"""

from __future__ import annotations

from domain.ir.base import UNSET, IRStruct, StopReason, UnsetType
from domain.ir.content import AnyBlock
from domain.ir.response import Usage


class StreamEvent(IRStruct, tag_field="event"):
    native: bytes | None = None


class MessageStart(StreamEvent, tag="message_start", kw_only=True):
    id: str
    model: str
    usage: Usage = Usage()
    created: int | UnsetType = UNSET


class BlockStart(StreamEvent, tag="block_start", kw_only=True):
    index: int
    block: AnyBlock  # text/thinking start empty; tool_use carries id and name, input ``{}``


class TextDelta(IRStruct, tag_field="type", tag="text"):
    text: str


class ToolInputDelta(IRStruct, tag_field="type", tag="tool_input"):
    partial_json: str


class ThinkingDelta(IRStruct, tag_field="type", tag="thinking"):
    thinking: str


class SignatureDelta(IRStruct, tag_field="type", tag="signature"):
    signature: str


Delta = TextDelta | ToolInputDelta | ThinkingDelta | SignatureDelta


class BlockDelta(StreamEvent, tag="block_delta", kw_only=True):
    index: int
    delta: Delta


class BlockStop(StreamEvent, tag="block_stop", kw_only=True):
    index: int


class MessageDelta(StreamEvent, tag="message_delta"):
    stop_reason: StopReason | None = None
    stop_sequence: str | None = None
    usage: Usage = Usage()


class MessageStop(StreamEvent, tag="message_stop"):
    pass


class Ping(StreamEvent, tag="ping"):
    pass


class StreamError(StreamEvent, tag="error", kw_only=True):
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
