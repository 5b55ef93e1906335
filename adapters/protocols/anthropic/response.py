"""Wire structs of Anthropic Messages *responses*: the message object, stream events, errors.

Decoding structs are flat and tolerant: every field optional, unknown fields ignored, so one
typed decode reads any event or block shape the API adds later; the parser decides by ``type``
what it understands and relays the rest untouched (content blocks are kept as ``msgspec.Raw``
until their type is known). Encoding structs (``*Out``) fix the field order Anthropic uses.
"""

from __future__ import annotations

import msgspec

# --------------------------------------------------------------------------- decoding


class Usage(msgspec.Struct):
    """Message usage. ``input_tokens`` excludes cache reads and writes (Anthropic's convention)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None


class Block(msgspec.Struct):
    """Any content block, flat: the fields of text, tool_use, thinking, redacted_thinking."""

    type: str = ""
    text: str | None = None
    id: str | None = None
    name: str | None = None
    input: msgspec.Raw = msgspec.Raw(b"")  # empty when absent
    thinking: str | None = None
    signature: str | None = None
    data: str | None = None


class Message(msgspec.Struct):
    id: str
    model: str
    content: list[msgspec.Raw] = []
    type: str = "message"
    role: str = "assistant"
    stop_reason: str | None = None
    stop_sequence: str | None = None
    usage: Usage = msgspec.field(default_factory=Usage)


class Delta(msgspec.Struct):
    """A ``content_block_delta`` delta or a ``message_delta`` delta, flat."""

    type: str | None = None
    text: str | None = None
    partial_json: str | None = None
    thinking: str | None = None
    signature: str | None = None
    stop_reason: str | None = None
    stop_sequence: str | None = None


class ErrorObject(msgspec.Struct):
    type: str = "api_error"
    message: str = ""


class ErrorBody(msgspec.Struct):
    """``{"type": "error", "error": {"type", "message"}, "request_id"}``."""

    error: ErrorObject
    type: str = "error"


class StreamEvent(msgspec.Struct):
    """Any stream event's data, flat; ``type`` says which fields are meaningful."""

    type: str = ""
    message: Message | None = None
    index: int | None = None
    content_block: msgspec.Raw = msgspec.Raw(b"")  # empty when absent
    delta: Delta | None = None
    usage: Usage | None = None
    error: ErrorObject | None = None


class EventType(msgspec.Struct):
    """Only the ``type`` of an event's data (the rest is skipped unread)."""

    type: str = ""


class TokenCount(msgspec.Struct):
    """The ``/v1/messages/count_tokens`` answer."""

    input_tokens: int


# --------------------------------------------------------------------------- encoding


class OutBlock(msgspec.Struct, tag_field="type"):
    pass


class TextOut(OutBlock, tag="text"):
    text: str


class ThinkingOut(OutBlock, tag="thinking"):
    thinking: str
    signature: str


class RedactedThinkingOut(OutBlock, tag="redacted_thinking"):
    data: str


class ToolUseOut(OutBlock, tag="tool_use"):
    id: str
    name: str
    input: msgspec.Raw


class UsageOut(msgspec.Struct):
    input_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int
    output_tokens: int


class DeltaUsageOut(msgspec.Struct, omit_defaults=True):
    """``message_delta`` usage: ``output_tokens`` always, input counts when known."""

    output_tokens: int
    input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None


class MessageOut(msgspec.Struct, kw_only=True):
    """Fields in Anthropic's order: id, type, role, model, content, stop_reason, ..."""

    id: str
    type: str = "message"
    role: str = "assistant"
    model: str
    content: list[OutBlock | msgspec.Raw]
    stop_reason: str | None
    stop_sequence: str | None
    usage: UsageOut


class ErrorOut(msgspec.Struct):
    type: str
    message: str


class ErrorBodyOut(msgspec.Struct, tag_field="type", tag="error"):
    error: ErrorOut
