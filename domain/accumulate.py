"""Fold a stream of IR events into the ChatResponse it describes."""

from __future__ import annotations

from collections.abc import AsyncIterable

import msgspec

from domain.errors import ErrorKind, GatewayError
from domain.ir import (
    AnyBlock,
    AnyEvent,
    BlockDelta,
    BlockStart,
    BlockStop,
    ChatResponse,
    MessageDelta,
    MessageStart,
    MessageStop,
    Ping,
    SignatureDelta,
    StreamError,
    TextBlock,
    TextDelta,
    ThinkingBlock,
    ThinkingDelta,
    ToolInputDelta,
    ToolUseBlock,
    Usage,
)
from domain.ir.arguments import tool_input
from domain.ir.base import UNSET


def merge_usage(base: Usage, update: Usage) -> Usage:
    """``update``'s known counts override ``base``'s."""
    fields = {f: getattr(update, f) for f in Usage.__struct_fields__ if getattr(update, f) is not UNSET}
    return msgspec.structs.replace(base, **fields) if fields else base


async def accumulate(events: AsyncIterable[AnyEvent]) -> ChatResponse:
    id_ = model = ""
    created = UNSET
    usage = Usage()
    stop_reason = stop_sequence = None
    starts: dict[int, AnyBlock] = {}
    parts: dict[int, list[str]] = {}
    signatures: dict[int, str] = {}
    async for event in events:
        match event:
            case MessageStart():
                id_, model, created = event.id, event.model, event.created
                usage = merge_usage(usage, event.usage)
            case BlockStart():
                starts[event.index] = event.block
                parts[event.index] = []
            case BlockDelta(delta=TextDelta(text=s) | ToolInputDelta(partial_json=s) | ThinkingDelta(thinking=s)):
                parts[event.index].append(s)
            case BlockDelta(delta=SignatureDelta(signature=sig)):
                signatures[event.index] = sig
            case BlockStop() | MessageStop() | Ping():
                pass
            case MessageDelta():
                stop_reason, stop_sequence = event.stop_reason, event.stop_sequence
                usage = merge_usage(usage, event.usage)
            case StreamError():
                raise GatewayError(ErrorKind(event.kind), event.message)
    content: list[AnyBlock] = []
    for index in sorted(starts):
        block, text = starts[index], "".join(parts[index])
        match block:
            case TextBlock():
                content.append(TextBlock(text=block.text + text))
            case ThinkingBlock():
                sig = signatures.get(index, block.signature)
                content.append(ThinkingBlock(thinking=block.thinking + text, signature=sig))
            case ToolUseBlock():
                content.append(ToolUseBlock(id=block.id, name=block.name, input=tool_input(text)[0]))
            case _:
                content.append(block)
    return ChatResponse(
        id=id_, model=model, content=content, stop_reason=stop_reason,
        stop_sequence=stop_sequence, usage=usage, created=created,
    )
