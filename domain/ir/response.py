"""The canonical chat response and token usage."""

from __future__ import annotations

import msgspec

from domain.ir.base import UNSET, IRStruct, Protocol, StopReason, UnsetType
from domain.ir.content import AnyBlock


class Usage(IRStruct, frozen=True):
    """Token counts.

    ``input_tokens`` counts every prompt token, cached ones included (OpenAI's convention);
    ``cache_read_tokens`` and ``cache_creation_tokens`` are the parts of it served from or
    written to a prompt cache. The Anthropic codec subtracts them, since its wire
    ``input_tokens`` excludes both.
    """

    input_tokens: int | UnsetType = UNSET
    output_tokens: int | UnsetType = UNSET
    cache_read_tokens: int | UnsetType = UNSET
    cache_creation_tokens: int | UnsetType = UNSET
    reasoning_tokens: int | UnsetType = UNSET


def merge_usage(base: Usage, update: Usage) -> Usage:
    """``update``'s known counts over ``base``'s (a stream reports usage in pieces)."""
    fields = {f: getattr(update, f) for f in Usage.__struct_fields__ if getattr(update, f) is not UNSET}
    return msgspec.structs.replace(base, **fields) if fields else base


class NativeResponse(IRStruct, frozen=True):
    """The upstream body as received, for a frontdoor of the same protocol to relay."""

    protocol: Protocol
    body: bytes


class ChatResponse(IRStruct, frozen=True):
    id: str
    model: str
    content: list[AnyBlock]
    stop_reason: StopReason | None = None
    stop_sequence: str | None = None
    usage: Usage = Usage()
    created: int | UnsetType = UNSET
    native: NativeResponse | UnsetType = UNSET
