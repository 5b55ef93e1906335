"""IR ``ChatResponse`` -> an Anthropic ``message`` body.

- Same protocol: the upstream body is relayed byte for byte; with a route alias only the
  top-level ``model`` is replaced (the body is decoded as ``dict[str, Raw]``, nothing else is
  re-encoded).
- Other protocols: a ``message`` is built. ``id`` is the upstream id as is (an OpenAI
  ``chatcmpl-...`` id stays recognisable in both sides' logs; SDKs do not parse ids), or a new
  ``msg_`` id when the upstream sent none (TGI sends ``""``): clients key messages by id. Blocks keep
  the IR's order (thinking first when the upstream gave reasoning). A thinking block without a
  signature (OpenAI-compatible reasoning) gets ``"signature": ""``, since the field is required.
  A tool call id Anthropic would refuse (Kimi's ``functions.get_weather:0``) is made valid with
  ``tool_id``: the client may replay it to an Anthropic route (a model switch, a failover).
  Blocks Anthropic responses cannot hold (images, tool results, another protocol's opaque
  blocks) are dropped with a log line. Stop reasons outside Anthropic's vocabulary map:
  ``content_filter`` -> ``refusal``, none -> ``end_turn``. Usage: Anthropic's ``input_tokens``
  excludes cache reads and writes, so they are subtracted from the IR's total.
"""

from __future__ import annotations

from typing import assert_never
from uuid import uuid4

import msgspec
import structlog

from adapters.protocols.anthropic.request import tool_id
from adapters.protocols.anthropic.response import (
    MessageOut,
    OutBlock,
    RedactedThinkingOut,
    TextOut,
    ThinkingOut,
    ToolUseOut,
    UsageOut,
)
from adapters.protocols.model_field import replace_model
from domain.ir import (
    AnyBlock,
    ChatResponse,
    ImageBlock,
    NativeResponse,
    OpaqueBlock,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
    Usage,
)
from domain.request_record import RequestRecord

log = structlog.get_logger(__name__)

_encode = msgspec.json.Encoder().encode

_STOP_REASONS = frozenset(
    {"end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal",
     "model_context_window_exceeded"}
)


def stop_reason_out(reason: str | None) -> str:
    if reason is None:
        return "end_turn"
    if reason in _STOP_REASONS:
        return reason
    return "refusal" if reason == "content_filter" else "end_turn"


def _count(value: int | msgspec.UnsetType) -> int:
    return value if isinstance(value, int) else 0


def input_tokens_out(usage: Usage) -> tuple[int, int, int]:
    """(input_tokens, cache_creation_input_tokens, cache_read_input_tokens) on Anthropic's wire."""
    cache_read, cache_creation = _count(usage.cache_read_tokens), _count(usage.cache_creation_tokens)
    return max(_count(usage.input_tokens) - cache_read - cache_creation, 0), cache_creation, cache_read


def usage_out(usage: Usage) -> UsageOut:
    input_tokens, cache_creation, cache_read = input_tokens_out(usage)
    return UsageOut(
        input_tokens=input_tokens,
        cache_creation_input_tokens=cache_creation,
        cache_read_input_tokens=cache_read,
        output_tokens=_count(usage.output_tokens),
    )


def message_id(upstream_id: str) -> str:
    """The upstream's message id, or a new one when it sent none (TGI's ``""``)."""
    return upstream_id or f"msg_{uuid4().hex[:24]}"


def block_out(block: AnyBlock) -> OutBlock | msgspec.Raw | None:
    """The wire block for an IR block, or None when Anthropic responses cannot hold it."""
    match block:
        case TextBlock():
            return TextOut(text=block.text)
        case ThinkingBlock():
            signature = block.signature if isinstance(block.signature, str) else ""
            return ThinkingOut(thinking=block.thinking, signature=signature)
        case RedactedThinkingBlock():
            return RedactedThinkingOut(data=block.data)
        case ToolUseBlock():
            return ToolUseOut(id=tool_id(block.id), name=block.name, input=block.input)
        case OpaqueBlock():
            return block.data if block.protocol == "anthropic" else None
        case ImageBlock() | ToolResultBlock():
            return None
        case _:
            assert_never(block)


def _kind(block: AnyBlock) -> str:
    return block.kind if isinstance(block, OpaqueBlock) else type(block).__name__


def from_ir(response: ChatResponse, record: RequestRecord) -> bytes:
    native = response.native
    if isinstance(native, NativeResponse) and native.protocol == "anthropic":
        return replace_model(native.body, record.alias) if record.alias else native.body
    content: list[OutBlock | msgspec.Raw] = []
    for block in response.content:
        out = block_out(block)
        if out is None:
            log.warning("response.block_dropped", kind=_kind(block), target="anthropic")
            continue
        content.append(out)
    message = MessageOut(
        id=message_id(response.id),
        model=record.alias or response.model,
        content=content,
        stop_reason=stop_reason_out(response.stop_reason),
        stop_sequence=response.stop_sequence,
        usage=usage_out(response.usage),
    )
    return _encode(message)
