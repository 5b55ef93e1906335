"""Base types shared by every part of the canonical IR.

The IR is neutral: it is neither OpenAI's chat format nor Anthropic's messages format, but a
block-structured model that both map onto without side channels. Optional fields default to
``msgspec.UNSET`` so that a parameter the client never sent is never sent upstream.
"""

from __future__ import annotations

from typing import Literal

import msgspec

UNSET = msgspec.UNSET
UnsetType = msgspec.UnsetType


class IRStruct(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Base of every IR value: immutable, keyword-only, absent fields omitted."""


Role = Literal["user", "assistant"]

# Why the model stopped. Anthropic's vocabulary is the canonical one; codecs map to and from it.
StopReason = Literal[
    "end_turn",
    "max_tokens",
    "stop_sequence",
    "tool_use",
    "pause_turn",
    "refusal",
    "content_filter",
    "model_context_window_exceeded",
]

# The name of a wire protocol: a frontdoor's ("openai", "anthropic", ...) or a provider kind's.
# A frontdoor and a provider of the same protocol may use the native fast path (see
# ``NativeRequest``); across protocols everything goes through the IR. The set is open: a new
# frontdoor or provider kind names its own protocol without a change here.
Protocol = str
