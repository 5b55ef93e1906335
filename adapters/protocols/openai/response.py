"""Wire structs of OpenAI's chat.completion, chat.completion.chunk and error objects.

Shared by both directions: the outbound adapter decodes upstream answers with them, the
frontdoor encodes its answers with them. Decoding is tolerant: unknown fields are ignored,
almost every field may be missing (``UNSET``) or ``null`` (``None``), since OpenAI-compatible
servers (vLLM, DeepSeek, OpenRouter, Ollama, ...) each leave out or null different things.
Encoding omits ``UNSET`` fields and writes ``None`` as ``null``, so a field the real API sends
as ``null`` is set to ``None`` explicitly and a field it leaves out stays ``UNSET``.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType


class Wire(msgspec.Struct, kw_only=True):
    """Base of the OpenAI wire structs (unknown fields are ignored when decoding)."""


class FunctionCall(Wire):
    name: str | None | UnsetType = UNSET
    arguments: str | None | UnsetType = UNSET  # a JSON object, as a string; fragments in a stream


class ToolCall(Wire):
    index: int | None | UnsetType = UNSET  # chunks only: which tool call a fragment belongs to
    id: str | None | UnsetType = UNSET
    type: str | None | UnsetType = UNSET
    function: FunctionCall | None | UnsetType = UNSET


class Message(Wire):
    """``choices[].message`` of a completion, ``choices[].delta`` of a chunk."""

    role: str | None | UnsetType = UNSET
    # A string for OpenAI; a list of parts ({"type": "text", "text": ...}) for a few servers.
    content: str | list[dict[str, Any]] | None | UnsetType = UNSET
    refusal: str | None | UnsetType = UNSET
    # Reasoning text: ``reasoning_content`` (DeepSeek, vLLM before 0.10, the de-facto field)
    # or ``reasoning`` (OpenRouter, Groq, newer vLLM). ``Any``: some servers send an object.
    reasoning_content: str | None | UnsetType = UNSET
    reasoning: Any = UNSET
    tool_calls: list[ToolCall] | None | UnsetType = UNSET
    function_call: FunctionCall | None | UnsetType = UNSET  # the legacy single function call
    annotations: list[Any] | UnsetType = UNSET


class Choice(Wire):
    index: int = 0
    message: Message | UnsetType = UNSET
    logprobs: Any = UNSET
    finish_reason: str | None | UnsetType = UNSET
    # vLLM: the stop string (or token id) that ended generation when finish_reason is "stop".
    stop_reason: str | int | None | UnsetType = UNSET


class ChunkChoice(Wire):
    index: int = 0
    delta: Message | UnsetType = UNSET
    logprobs: Any = UNSET
    finish_reason: str | None | UnsetType = UNSET
    stop_reason: str | int | None | UnsetType = UNSET


class PromptTokensDetails(Wire):
    cached_tokens: int | None | UnsetType = UNSET


class CompletionTokensDetails(Wire):
    reasoning_tokens: int | None | UnsetType = UNSET


class Usage(Wire):
    prompt_tokens: int | None | UnsetType = UNSET
    completion_tokens: int | None | UnsetType = UNSET
    total_tokens: int | None | UnsetType = UNSET
    prompt_tokens_details: PromptTokensDetails | None | UnsetType = UNSET
    completion_tokens_details: CompletionTokensDetails | None | UnsetType = UNSET
    prompt_cache_hit_tokens: int | None | UnsetType = UNSET  # DeepSeek's name for cached tokens


class ErrorObject(Wire):
    """OpenAI's ``{"error": {...}}`` payload. All four keys are always sent (``null`` if none)."""

    message: str | None = None
    type: str | None = None
    param: str | None = None
    code: str | int | None = None


class ChatCompletion(Wire):
    id: str = ""
    object: str | UnsetType = UNSET
    created: int | UnsetType = UNSET
    model: str = ""
    choices: list[Choice] = []
    usage: Usage | None | UnsetType = UNSET
    # Decoding only: a few servers answer 200 with an error body.
    error: ErrorObject | str | None | UnsetType = UNSET


class ChatCompletionHead(Wire):
    """Decoding only: what the gateway needs of a completion it relays untouched (ids, usage,
    an error body); ``choices`` stay raw bytes, never parsed."""

    id: str = ""
    created: int | UnsetType = UNSET
    model: str = ""
    choices: list[msgspec.Raw] = []
    usage: Usage | None | UnsetType = UNSET
    error: ErrorObject | str | None | UnsetType = UNSET


class ChatCompletionChunk(Wire):
    id: str = ""
    object: str | UnsetType = UNSET
    created: int | UnsetType = UNSET
    model: str = ""
    choices: list[ChunkChoice] = []
    usage: Usage | None | UnsetType = UNSET
    # An error frame in a stream: ``data: {"error": {...}}`` (a bare string from some servers).
    error: ErrorObject | str | None | UnsetType = UNSET


class DeltaHead(Wire):
    """Decoding only: whether a relayed chunk's delta calls tools (its text is skipped unread)."""

    tool_calls: list[msgspec.Raw] | None | UnsetType = UNSET
    function_call: msgspec.Raw | None | UnsetType = UNSET


class ChunkChoiceHead(Wire):
    index: int = 0
    delta: DeltaHead | UnsetType = UNSET
    finish_reason: str | None | UnsetType = UNSET
    stop_reason: str | int | None | UnsetType = UNSET


class ChatCompletionChunkHead(Wire):
    """Decoding only: what the gateway needs of a chunk it relays untouched (ids, usage, the
    finish, an error frame); the deltas' content is never parsed."""

    id: str = ""
    created: int | UnsetType = UNSET
    model: str = ""
    choices: list[ChunkChoiceHead] = []
    usage: Usage | None | UnsetType = UNSET
    error: ErrorObject | str | None | UnsetType = UNSET


class ErrorEnvelope(Wire):
    """An error response body. ``message``/``detail`` cover servers that skip the envelope."""

    error: ErrorObject | str | None | UnsetType = UNSET
    message: str | None | UnsetType = UNSET
    detail: Any = UNSET


class ErrorBody(Wire):
    """The error body the frontdoor sends."""

    error: ErrorObject
