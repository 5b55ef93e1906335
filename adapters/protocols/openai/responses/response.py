"""Wire structs of the Response object (``"object": "response"``) and its output items.

The frontdoor encodes with them: ``UNSET`` fields are left out, ``None`` is written as ``null``
(the API writes ``null`` for the optional members it has no value for). The members the
Response echoes from the request are set by the codec from the client's own values; the
defaults here are what the API reports when the client sent none.
"""

from __future__ import annotations

import msgspec


class Wire(msgspec.Struct, kw_only=True):
    """Base of the Response wire structs."""


# --- output items ---------------------------------------------------------------------------------


class OutputText(Wire, kw_only=True, tag_field="type", tag="output_text"):
    annotations: list[msgspec.Raw] = []
    logprobs: list[msgspec.Raw] = []
    text: str


class SummaryText(Wire, kw_only=True, tag_field="type", tag="summary_text"):
    text: str


class MessageItem(Wire, kw_only=True, tag_field="type", tag="message"):
    id: str
    status: str  # in_progress / completed / incomplete
    role: str = "assistant"
    content: list[OutputText] = []


class FunctionCallItem(Wire, kw_only=True, tag_field="type", tag="function_call"):
    id: str
    status: str
    arguments: str
    call_id: str
    name: str


class CustomToolCallItem(Wire, kw_only=True, tag_field="type", tag="custom_tool_call"):
    id: str
    status: str
    call_id: str
    input: str
    name: str


class ReasoningItem(Wire, kw_only=True, tag_field="type", tag="reasoning"):
    id: str
    summary: list[SummaryText] = []
    encrypted_content: str | None = None


OutputItem = MessageItem | FunctionCallItem | CustomToolCallItem | ReasoningItem


# --- usage, errors ---------------------------------------------------------------------------------


class InputTokensDetails(Wire, kw_only=True):
    cached_tokens: int = 0
    cache_write_tokens: int = 0


class OutputTokensDetails(Wire, kw_only=True):
    reasoning_tokens: int = 0


class Usage(Wire, kw_only=True):
    input_tokens: int
    input_tokens_details: InputTokensDetails
    output_tokens: int
    output_tokens_details: OutputTokensDetails
    total_tokens: int


class ResponseError(Wire, kw_only=True):
    """``error`` of a failed Response; ``code`` is one of the API's codes (server_error,
    rate_limit_exceeded, invalid_prompt, ...)."""

    code: str
    message: str


class IncompleteDetails(Wire, kw_only=True):
    reason: str  # max_output_tokens / content_filter


# --- the Response ------------------------------------------------------------------------------------

_NULL = msgspec.Raw(b"null")


class Response(Wire, kw_only=True):
    """The Response object, members in the order the API writes them."""

    id: str
    object: str = "response"
    created_at: int
    status: str  # in_progress / completed / incomplete / failed
    background: bool = False
    completed_at: int | None = None
    error: ResponseError | None = None
    incomplete_details: IncompleteDetails | None = None
    instructions: str | None = None
    max_output_tokens: int | None = None
    max_tool_calls: int | None = None
    model: str
    output: list[OutputItem] = []
    parallel_tool_calls: bool = True
    previous_response_id: str | None = None
    prompt_cache_key: str | None = None
    reasoning: msgspec.Raw = _NULL  # the request's ``reasoning``, as sent
    safety_identifier: str | None = None
    service_tier: str = "default"
    store: bool = True
    temperature: float | None = None
    text: msgspec.Raw = _NULL  # the request's ``text``, as sent
    tool_choice: msgspec.Raw = _NULL  # the request's ``tool_choice``, as sent
    tools: list[msgspec.Raw] = []  # the request's ``tools``, as sent
    top_logprobs: int | None = None
    top_p: float | None = None
    truncation: str = "disabled"
    usage: Usage | None = None
    user: str | None = None
    metadata: msgspec.Raw = _NULL  # the request's ``metadata``, as sent


class StoredOutput(Wire, kw_only=True):
    """Decoding only: the output items of an encoded Response, undecoded."""

    output: list[msgspec.Raw] = []


__all__ = [
    "CustomToolCallItem",
    "FunctionCallItem",
    "IncompleteDetails",
    "InputTokensDetails",
    "MessageItem",
    "OutputItem",
    "OutputText",
    "OutputTokensDetails",
    "ReasoningItem",
    "Response",
    "ResponseError",
    "StoredOutput",
    "SummaryText",
    "Usage",
]
