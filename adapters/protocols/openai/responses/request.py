"""Wire structs of a Responses API *request*, as the frontdoor reads a client's body.

Tolerant like every wire struct: unknown fields are ignored; an optional parameter may be absent
(``UNSET``) or ``null`` (``None``), both meaning "not sent". ``input`` items, their content
parts and ``tools`` entries are kept as ``msgspec.Raw`` and read one by one with the lenient
structs below (``InputItem``, ``Part``, ``ToolDef``), so an item, part or tool type the gateway
does not model survives byte for byte. The parameters the Response object echoes back
(``tool_choice``, ``text``, ``reasoning``, ``metadata``) are kept raw for the same reason and
read again with their own structs.
"""

from __future__ import annotations

import msgspec
from msgspec import UNSET, UnsetType


class Wire(msgspec.Struct, kw_only=True):
    """Base of the Responses request wire structs (unknown fields are ignored)."""


# --- input items and their content ------------------------------------------------------------


class Part(Wire, kw_only=True):
    """A content part of any type (``input_text``, ``input_image``, ``input_file``,
    ``output_text``, ``refusal``, ``reasoning_text``, ``summary_text``), read leniently."""

    type: str
    text: str | UnsetType = UNSET
    refusal: str | UnsetType = UNSET
    image_url: str | None | UnsetType = UNSET
    file_id: str | None | UnsetType = UNSET
    file_data: str | None | UnsetType = UNSET
    file_url: str | None | UnsetType = UNSET
    filename: str | None | UnsetType = UNSET
    detail: str | None | UnsetType = UNSET


class SummaryText(Wire, kw_only=True):
    type: str = "summary_text"
    text: str


class InputItem(Wire, kw_only=True):
    """An ``input`` item of any type, read leniently; the codec checks what its type needs.

    ``type`` may be left out: ``{"role": ..., "content": ...}`` is a message (the "easy" form),
    ``{"id": ...}`` alone an item reference.
    """

    type: str | UnsetType = UNSET
    id: str | None | UnsetType = UNSET
    # message
    role: str | UnsetType = UNSET
    content: str | list[msgspec.Raw] | None | UnsetType = UNSET  # reasoning: reasoning_text parts
    # function_call, custom_tool_call
    call_id: str | None | UnsetType = UNSET
    name: str | UnsetType = UNSET
    arguments: str | UnsetType = UNSET
    input: str | UnsetType = UNSET
    namespace: str | None | UnsetType = UNSET
    # function_call_output, custom_tool_call_output: a string or input_text/image/file parts
    output: str | list[msgspec.Raw] | None | UnsetType = UNSET
    # reasoning
    summary: list[SummaryText] | UnsetType = UNSET
    encrypted_content: str | None | UnsetType = UNSET


# --- tools, tool choice and other parameters ----------------------------------------------------


class ToolDef(Wire, kw_only=True):
    """A ``tools[]`` entry of any type, read leniently. Function tools are flat here
    (``{"type": "function", "name", "parameters", "strict", "description"}``)."""

    type: str
    name: str | UnsetType = UNSET
    description: str | None | UnsetType = UNSET
    parameters: msgspec.Raw | UnsetType = UNSET  # a JSON Schema object
    strict: bool | None | UnsetType = UNSET
    format: msgspec.Raw | UnsetType = UNSET  # custom tools: {"type": "text"} or a grammar


class CustomFormat(Wire, kw_only=True):
    """A custom tool's ``format``: ``{"type": "text"}`` or ``{"type": "grammar", "syntax":
    "lark" | "regex", "definition"}``."""

    type: str
    syntax: str | UnsetType = UNSET
    definition: str | UnsetType = UNSET


class ToolChoiceObject(Wire, kw_only=True):
    """``{"type": "function", "name"}``, ``{"type": "custom", "name"}``, ``{"type":
    "allowed_tools", "mode", "tools"}``, or a hosted tool type (``{"type": "web_search"}``...)."""

    type: str
    name: str | UnsetType = UNSET
    mode: str | UnsetType = UNSET
    tools: msgspec.Raw | UnsetType = UNSET


class TextFormat(Wire, kw_only=True):
    """``text.format``: ``{"type": "text"}``, ``{"type": "json_object"}`` or ``{"type":
    "json_schema", "name", "schema", "description", "strict"}`` (flat, unlike Chat's)."""

    type: str
    name: str | UnsetType = UNSET
    schema: msgspec.Raw | UnsetType = UNSET
    description: str | None | UnsetType = UNSET
    strict: bool | None | UnsetType = UNSET


class TextConfig(Wire, kw_only=True):
    format: TextFormat | None | UnsetType = UNSET
    verbosity: str | None | UnsetType = UNSET


class ReasoningConfig(Wire, kw_only=True):
    effort: str | None | UnsetType = UNSET
    summary: str | None | UnsetType = UNSET
    generate_summary: str | None | UnsetType = UNSET  # deprecated name of ``summary``


# --- the request ---------------------------------------------------------------------------------


class ResponsesRequest(Wire, kw_only=True):
    """A client's body. Fields the gateway neither maps nor echoes are not listed."""

    model: str
    input: str | list[msgspec.Raw] | None | UnsetType = UNSET  # items read with ``InputItem``
    instructions: str | None | UnsetType = UNSET
    tools: list[msgspec.Raw] | None | UnsetType = UNSET  # entries read with ``ToolDef``
    tool_choice: msgspec.Raw | UnsetType = UNSET  # a string or a ``ToolChoiceObject``
    parallel_tool_calls: bool | None | UnsetType = UNSET
    max_output_tokens: int | None | UnsetType = UNSET
    max_tool_calls: int | None | UnsetType = UNSET
    temperature: float | None | UnsetType = UNSET
    top_p: float | None | UnsetType = UNSET
    top_logprobs: int | None | UnsetType = UNSET
    reasoning: msgspec.Raw | UnsetType = UNSET  # a ``ReasoningConfig``
    text: msgspec.Raw | UnsetType = UNSET  # a ``TextConfig``
    metadata: msgspec.Raw | UnsetType = UNSET  # an object of strings, echoed as sent
    user: str | None | UnsetType = UNSET
    safety_identifier: str | None | UnsetType = UNSET
    prompt_cache_key: str | None | UnsetType = UNSET
    service_tier: str | None | UnsetType = UNSET
    truncation: str | None | UnsetType = UNSET
    store: bool | None | UnsetType = UNSET
    stream: bool | None | UnsetType = UNSET
    include: list[str] | None | UnsetType = UNSET
    previous_response_id: str | None | UnsetType = UNSET
    # Features that need OpenAI's own server state; refused by the codec.
    conversation: msgspec.Raw | UnsetType = UNSET
    prompt: msgspec.Raw | UnsetType = UNSET
    background: bool | None | UnsetType = UNSET
