"""Wire structs of the Anthropic Messages *request* (``POST /v1/messages`` and
``POST /v1/messages/count_tokens``), used by both directions.

Decoding structs are tolerant: unknown fields are ignored (the inbound decoder keeps the whole
body as ``dict[str, msgspec.Raw]`` for a same-protocol upstream, so nothing is lost), and
optional top-level parameters accept ``null`` as "absent". Content blocks are a tagged union of
the types the IR models; any other block type (``document``, ``search_result``,
``server_tool_use``, ``web_search_tool_result``, ``container_upload``, ...) is read as raw JSON
by the decoder's second pass and carried as an opaque block.

Encoding structs (``MessagesBody``, ``CountTokensBody``, ``OutMessage``, ``CustomTool``) build
the upstream body of the translated path; absent fields are ``UNSET`` and never encoded.
``tool_id`` makes any tool-call id one Anthropic accepts (used by both directions).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Literal

from msgspec import UNSET, Raw, Struct, UnsetType

_TOOL_ID = re.compile(r"[a-zA-Z0-9_-]+")
_NOT_TOOL_ID = re.compile(r"[^a-zA-Z0-9_-]+")


def tool_id(value: str) -> str:
    """``value`` when Anthropic accepts it as a ``tool_use`` id (``^[a-zA-Z0-9_-]+$``), else its
    valid characters and a hash of it: other providers' ids (Kimi's ``functions.get_weather:0``)
    are refused with a 400. Deterministic, so a ``tool_use`` and its ``tool_result`` stay paired
    turn after turn; the hash keeps distinct ids distinct."""
    if _TOOL_ID.fullmatch(value):
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:12]
    return f"{_NOT_TOOL_ID.sub('_', value).strip('_') or 'toolu'}_{digest}"


class _Wire(Struct, kw_only=True, omit_defaults=True):
    pass


# --- content blocks ---------------------------------------------------------------------


class TextParam(_Wire, kw_only=True, tag_field="type", tag="text"):
    text: str


class ImageSource(_Wire, kw_only=True):
    """``base64`` (media_type + data), ``url`` (url) or ``file`` (file_id); others kept opaque."""

    type: str
    media_type: str | UnsetType = UNSET
    data: str | UnsetType = UNSET
    url: str | UnsetType = UNSET
    file_id: str | UnsetType = UNSET


class ImageParam(_Wire, kw_only=True, tag_field="type", tag="image"):
    source: ImageSource


class ToolUseParam(_Wire, kw_only=True, tag_field="type", tag="tool_use"):
    id: str
    name: str
    input: Raw


class ToolResultParam(_Wire, kw_only=True, tag_field="type", tag="tool_result"):
    """``content`` is a string or text/image blocks (encoding: also raw opaque blocks)."""

    tool_use_id: str
    content: str | list[TextParam | ImageParam] | UnsetType = UNSET
    is_error: bool | UnsetType = UNSET


class ToolResultRawParam(_Wire, kw_only=True, tag_field="type", tag="tool_result"):
    """Second-pass view of a tool_result whose content holds other block types."""

    tool_use_id: str
    content: str | list[Raw] | UnsetType = UNSET
    is_error: bool | UnsetType = UNSET


class ThinkingParam(_Wire, kw_only=True, tag_field="type", tag="thinking"):
    thinking: str
    signature: str | UnsetType = UNSET


class RedactedThinkingParam(_Wire, kw_only=True, tag_field="type", tag="redacted_thinking"):
    data: str


KnownBlock = TextParam | ImageParam | ToolUseParam | ToolResultParam | ThinkingParam | RedactedThinkingParam
RawPassBlock = (
    TextParam | ImageParam | ToolUseParam | ToolResultRawParam | ThinkingParam | RedactedThinkingParam
)
NestedBlock = TextParam | ImageParam

KNOWN_BLOCK_TYPES = frozenset(
    {"text", "image", "tool_use", "tool_result", "thinking", "redacted_thinking"}
)
NESTED_BLOCK_TYPES = frozenset({"text", "image"})  # what the IR keeps inside a tool_result


class BlockHead(Struct):
    """Just a block's ``type``: how the second pass tells modelled blocks from opaque ones."""

    type: str


# --- messages ---------------------------------------------------------------------------

# "system" messages in ``messages`` are accepted by recent API versions (text content only).
MessageRole = Literal["user", "assistant", "system"]


class MessageParam(_Wire, kw_only=True):
    role: MessageRole
    content: str | list[KnownBlock]


class RawMessageParam(_Wire, kw_only=True):
    role: MessageRole
    content: str | list[Raw]


# --- tools and options ------------------------------------------------------------------


class ToolDef(_Wire, kw_only=True):
    """Any tool: custom (no ``type`` or ``"custom"``) or a server tool (``web_search_...``)."""

    type: str | None | UnsetType = UNSET
    name: str | UnsetType = UNSET
    description: str | None | UnsetType = UNSET
    input_schema: Raw | UnsetType = UNSET
    strict: bool | None | UnsetType = UNSET


class CustomTool(_Wire, kw_only=True):
    name: str
    description: str | UnsetType = UNSET
    input_schema: Raw
    strict: bool | UnsetType = UNSET


class ToolChoiceParam(_Wire, kw_only=True):
    type: str  # auto | any | tool | none
    name: str | UnsetType = UNSET
    disable_parallel_tool_use: bool | UnsetType = UNSET


class ThinkingConfig(_Wire, kw_only=True):
    type: str  # enabled | disabled | adaptive | between_tools
    budget_tokens: int | None | UnsetType = UNSET


class OutputFormat(_Wire, kw_only=True):
    type: str  # json_schema
    schema: Raw | UnsetType = UNSET


class OutputConfig(_Wire, kw_only=True):
    effort: str | None | UnsetType = UNSET
    format: OutputFormat | None | UnsetType = UNSET


class Metadata(_Wire, kw_only=True):
    user_id: str | None | UnsetType = UNSET


# --- request bodies (decoding) ----------------------------------------------------------

# The top-level fields the IR models besides ``messages`` and ``tools`` (those two are decoded
# block by block), with their wire types. Each is decoded from its raw value in the client's
# body; ``null`` means absent for the optional ones.
REQUEST_FIELDS: dict[str, Any] = {
    "model": str,
    "max_tokens": int,
    "system": str | list[TextParam] | None,
    "temperature": float | None,
    "top_p": float | None,
    "top_k": int | None,
    "stop_sequences": list[str] | None,
    "stream": bool | None,
    "metadata": Metadata | None,
    "tool_choice": ToolChoiceParam | None,
    "thinking": ThinkingConfig | None,
    "output_config": OutputConfig | None,
    "output_format": OutputFormat | None,  # the structured-outputs beta's spelling
}


# --- request bodies (encoding) ----------------------------------------------------------


class OutMessage(_Wire, kw_only=True):
    role: str
    content: list[Any]  # block structs, or Raw for opaque Anthropic blocks


class MessagesBody(_Wire, kw_only=True):
    model: str
    max_tokens: int
    messages: list[OutMessage]
    system: str | list[TextParam] | UnsetType = UNSET
    metadata: Metadata | UnsetType = UNSET
    stop_sequences: list[str] | UnsetType = UNSET
    stream: bool | UnsetType = UNSET
    temperature: float | UnsetType = UNSET
    top_p: float | UnsetType = UNSET
    top_k: int | UnsetType = UNSET
    tools: list[Any] | UnsetType = UNSET  # CustomTool, or Raw for server tools
    tool_choice: ToolChoiceParam | UnsetType = UNSET
    thinking: ThinkingConfig | UnsetType = UNSET
    output_config: OutputConfig | UnsetType = UNSET


class CountTokensBody(_Wire, kw_only=True):
    model: str
    messages: list[OutMessage]
    system: str | list[TextParam] | UnsetType = UNSET
    tools: list[Any] | UnsetType = UNSET
    tool_choice: ToolChoiceParam | UnsetType = UNSET
    thinking: ThinkingConfig | UnsetType = UNSET
    output_config: OutputConfig | UnsetType = UNSET


# The top-level fields ``/v1/messages/count_tokens`` accepts (the native path keeps only these).
COUNT_TOKENS_FIELDS = frozenset(
    {
        "model",
        "messages",
        "system",
        "tools",
        "tool_choice",
        "thinking",
        "output_config",
        "output_format",  # the structured-outputs beta's older spelling
        "mcp_servers",
        "context_management",
        "cache_control",
        "speed",
        "compaction",
    }
)

__all__ = [
    "COUNT_TOKENS_FIELDS",
    "KNOWN_BLOCK_TYPES",
    "NESTED_BLOCK_TYPES",
    "BlockHead",
    "CountTokensBody",
    "CustomTool",
    "ImageParam",
    "ImageSource",
    "KnownBlock",
    "MessageParam",
    "MessagesBody",
    "Metadata",
    "NestedBlock",
    "OutMessage",
    "OutputConfig",
    "OutputFormat",
    "REQUEST_FIELDS",
    "RawMessageParam",
    "RawPassBlock",
    "RedactedThinkingParam",
    "TextParam",
    "ThinkingConfig",
    "ThinkingParam",
    "ToolChoiceParam",
    "ToolDef",
    "ToolResultParam",
    "ToolResultRawParam",
    "ToolUseParam",
]
