"""Anthropic ``message`` object -> IR ``ChatResponse``.

Blocks the IR models (text, tool_use, thinking, redacted_thinking) become IR blocks; any other
block (server_tool_use, web_search_tool_result, ...) becomes an ``OpaqueBlock`` holding its raw
JSON. ``stop_reason`` and ``stop_sequence`` pass unchanged (the IR uses Anthropic's vocabulary).
Usage: the IR's ``input_tokens`` counts every prompt token, so cache reads and writes are added
to Anthropic's ``input_tokens``. The body itself rides along as ``native`` for an Anthropic
frontdoor to relay.
"""

from __future__ import annotations

from typing import cast

import msgspec

from adapters.protocols.anthropic import response as wire
from domain.errors import ErrorKind, GatewayError
from domain.ir import (
    AnyBlock,
    ChatResponse,
    NativeResponse,
    OpaqueBlock,
    RedactedThinkingBlock,
    StopReason,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    Usage,
)
from domain.ir.arguments import EMPTY_OBJECT
from domain.ir.base import UNSET

_decode_message = msgspec.json.Decoder(wire.Message).decode
_decode_block = msgspec.json.Decoder(wire.Block).decode


def usage_to_ir(usage: wire.Usage) -> Usage:
    """Anthropic usage -> IR usage; absent counts stay absent."""
    cache_read, cache_creation = usage.cache_read_input_tokens, usage.cache_creation_input_tokens
    input_tokens = usage.input_tokens
    if input_tokens is not None:
        input_tokens += (cache_read or 0) + (cache_creation or 0)
    return Usage(
        input_tokens=UNSET if input_tokens is None else input_tokens,
        output_tokens=UNSET if usage.output_tokens is None else usage.output_tokens,
        cache_read_tokens=UNSET if cache_read is None else cache_read,
        cache_creation_tokens=UNSET if cache_creation is None else cache_creation,
    )


def block_to_ir(raw: msgspec.Raw) -> AnyBlock:
    """One wire content block -> IR block (raises msgspec errors on malformed JSON)."""
    block = _decode_block(raw)
    match block.type:
        case "text" if block.text is not None:
            return TextBlock(text=block.text)
        case "tool_use" if block.id is not None and block.name is not None:
            arguments = block.input if len(block.input) else EMPTY_OBJECT
            return ToolUseBlock(id=block.id, name=block.name, input=arguments)
        case "thinking" if block.thinking is not None:
            # A stream's block start carries ``"signature": ""``: no signature yet.
            return ThinkingBlock(thinking=block.thinking, signature=block.signature or UNSET)
        case "redacted_thinking" if block.data is not None:
            return RedactedThinkingBlock(data=block.data)
        case _:
            return OpaqueBlock(protocol="anthropic", kind=block.type, data=raw)


def parse_response(body: bytes, *, content: bool = True) -> ChatResponse:
    """An upstream ``message`` as IR. ``content=False``: the body will be relayed as it is (an
    Anthropic client on an Anthropic upstream), so its content blocks are not converted."""
    try:
        message = _decode_message(body)
        blocks = [block_to_ir(raw) for raw in message.content] if content else []
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise GatewayError(ErrorKind.PROTOCOL, f"Unreadable Anthropic response: {exc}") from None
    return ChatResponse(
        id=message.id,
        model=message.model,
        content=blocks,
        # Anthropic's vocabulary, as it is (the type quoted: not built on every call)
        stop_reason=cast("StopReason | None", message.stop_reason),
        stop_sequence=message.stop_sequence,
        usage=usage_to_ir(message.usage),
        native=NativeResponse(protocol="anthropic", body=body),
    )
