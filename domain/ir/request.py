"""The canonical chat request."""

from __future__ import annotations

from typing import Literal

import msgspec

from domain.ir.base import UNSET, IRStruct, Protocol, Role, UnsetType
from domain.ir.content import AnyBlock, TextBlock


class Message(IRStruct, frozen=True):
    role: Role
    content: list[AnyBlock]


class Tool(IRStruct, frozen=True, tag_field="type", tag="function"):
    """A client-defined function tool."""

    name: str
    description: str | UnsetType = UNSET
    input_schema: msgspec.Raw = msgspec.Raw(b'{"type":"object","properties":{}}')
    strict: bool | UnsetType = UNSET


class OpaqueTool(IRStruct, frozen=True, tag_field="type", tag="opaque"):
    """A tool only its own protocol knows (Anthropic server tools, OpenAI custom tools)."""

    protocol: str
    kind: str
    data: msgspec.Raw


ToolChoiceMode = Literal["auto", "any", "none", "tool"]


class ToolChoice(IRStruct, frozen=True):
    """auto: the model decides; any: it must call some tool; none: no tool; tool: ``name``."""

    mode: ToolChoiceMode
    name: str | UnsetType = UNSET


class Reasoning(IRStruct, frozen=True):
    """Extended thinking. ``effort`` is OpenAI's scale, ``budget_tokens`` Anthropic's."""

    enabled: bool = True
    effort: str | UnsetType = UNSET
    budget_tokens: int | UnsetType = UNSET


class NativeRequest(IRStruct, frozen=True):
    """The client's body as it arrived, top-level fields undecoded.

    An outbound adapter of the same ``protocol`` forwards it (model replaced) instead of
    re-encoding the IR: nothing the IR does not model is lost, and nothing is re-encoded.
    """

    protocol: Protocol
    fields: dict[str, msgspec.Raw]


class ChatRequest(IRStruct, frozen=True):
    model: str
    messages: list[Message]
    system: list[TextBlock] | UnsetType = UNSET
    max_tokens: int | UnsetType = UNSET
    temperature: float | UnsetType = UNSET
    top_p: float | UnsetType = UNSET
    top_k: int | UnsetType = UNSET
    stop: list[str] | UnsetType = UNSET
    stream: bool = False
    include_usage: bool | UnsetType = UNSET  # OpenAI stream_options.include_usage
    user: str | UnsetType = UNSET  # OpenAI user <-> Anthropic metadata.user_id
    tools: list[Tool | OpaqueTool] | UnsetType = UNSET
    tool_choice: ToolChoice | UnsetType = UNSET
    parallel_tool_calls: bool | UnsetType = UNSET
    reasoning: Reasoning | UnsetType = UNSET
    response_format: msgspec.Raw | UnsetType = UNSET  # OpenAI only; refused where unsupported
    # Parameters only some targets honour: dropped (and logged) or refused by the codecs.
    n: int | UnsetType = UNSET
    presence_penalty: float | UnsetType = UNSET
    frequency_penalty: float | UnsetType = UNSET
    seed: int | UnsetType = UNSET
    logprobs: bool | UnsetType = UNSET
    top_logprobs: int | UnsetType = UNSET
    native: NativeRequest | UnsetType = UNSET
    # Client headers a same-protocol upstream must see (anthropic-version, anthropic-beta).
    passthrough_headers: dict[str, str] = {}
