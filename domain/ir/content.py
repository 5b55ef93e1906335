"""Content blocks: the unit of every message, response and stream in the IR."""

from __future__ import annotations

import msgspec

from domain.ir.base import UNSET, IRStruct, UnsetType


class Block(IRStruct, frozen=True, tag_field="type"):
    """A piece of message content. Code that handles blocks matches on the concrete class."""


class TextBlock(Block, frozen=True, tag="text"):
    text: str


class ImageBlock(Block, frozen=True, tag="image"):
    """An image, either inline (``data`` base64 + ``media_type``) or by ``url``."""

    url: str | UnsetType = UNSET
    data: str | UnsetType = UNSET
    media_type: str | UnsetType = UNSET
    detail: str | UnsetType = UNSET  # OpenAI's low/high/auto hint; other protocols drop it


class ToolUseBlock(Block, frozen=True, tag="tool_use"):
    id: str
    name: str
    input: msgspec.Raw  # the JSON object of arguments, parsed only where needed


class ToolResultBlock(Block, frozen=True, tag="tool_result"):
    tool_use_id: str
    content: list[AnyBlock] = []  # text and image blocks
    is_error: bool | UnsetType = UNSET


class ThinkingBlock(Block, frozen=True, tag="thinking"):
    thinking: str
    signature: str | UnsetType = UNSET


class RedactedThinkingBlock(Block, frozen=True, tag="redacted_thinking"):
    data: str


class OpaqueBlock(Block, frozen=True, tag="opaque"):
    """A block only its own protocol understands (a document, a server tool result, ...).

    It round-trips to that protocol untouched; a codec of another protocol refuses it by
    ``kind`` with a clear client error rather than silently dropping what the client sent.
    """

    protocol: str
    kind: str
    data: msgspec.Raw


AnyBlock = (
    TextBlock
    | ImageBlock
    | ToolUseBlock
    | ToolResultBlock
    | ThinkingBlock
    | RedactedThinkingBlock
    | OpaqueBlock
)
