"""Wire structs of an OpenAI Chat Completions *request* (``POST /v1/chat/completions``).

Reading (the frontdoor decodes client bodies with ``ChatCompletionRequest``): unknown fields are
ignored; every optional parameter may be absent (``UNSET``) or ``null`` (``None``), and both mean
"not sent". Messages are a union tagged by ``role``. User content parts and ``tools`` entries are
kept as ``msgspec.Raw`` and read one by one (``Part``, ``ToolDef``), so a part or tool type the
gateway does not model survives byte for byte as an opaque block or tool.

Writing (the outbound adapter builds upstream bodies with ``OutRequest``): ``UNSET`` fields are
never written, ``None`` is written as ``null``. Structs shared by both directions (text and image
parts, tool calls, the system/assistant/tool messages) are declared once.
"""

from __future__ import annotations

import msgspec
from msgspec import UNSET, UnsetType


class Wire(msgspec.Struct, kw_only=True):
    """Base of the request wire structs (unknown fields are ignored when decoding)."""


# --- content parts ------------------------------------------------------------------------------


class TextPart(Wire, tag_field="type", tag="text"):
    text: str


class ImageURL(Wire):
    url: str  # an http(s) URL or a data URL: data:<media type>;base64,<data>
    detail: str | UnsetType = UNSET  # auto / low / high


class ImageURLPart(Wire, tag_field="type", tag="image_url"):
    image_url: ImageURL


class RefusalPart(Wire, tag_field="type", tag="refusal"):
    refusal: str


class Part(Wire):
    """A user content part of any type, read leniently: the codec checks what its type needs."""

    type: str
    text: str | UnsetType = UNSET
    image_url: ImageURL | UnsetType = UNSET


# --- tool calls (assistant messages) --------------------------------------------------------------


class FunctionCall(Wire):
    name: str
    arguments: str  # a JSON object, as a string


class ToolCall(Wire):
    id: str
    type: str = "function"
    function: FunctionCall | UnsetType = UNSET
    custom: msgspec.Raw | UnsetType = UNSET  # type "custom": {"name", "input"}


# --- messages ------------------------------------------------------------------------------------


class SystemMessage(Wire, tag_field="role", tag="system"):
    content: str | list[TextPart]
    name: str | UnsetType = UNSET


class DeveloperMessage(Wire, tag_field="role", tag="developer"):
    content: str | list[TextPart]
    name: str | UnsetType = UNSET


class UserMessage(Wire, tag_field="role", tag="user"):
    content: str | list[msgspec.Raw]  # parts read one by one with ``Part``
    name: str | UnsetType = UNSET


class AssistantMessage(Wire, tag_field="role", tag="assistant"):
    content: str | list[TextPart | RefusalPart] | None | UnsetType = UNSET
    refusal: str | None | UnsetType = UNSET
    tool_calls: list[ToolCall] | None | UnsetType = UNSET
    function_call: FunctionCall | None | UnsetType = UNSET  # legacy; refused by the codec
    name: str | UnsetType = UNSET


class ToolMessage(Wire, tag_field="role", tag="tool"):
    tool_call_id: str
    content: str | list[TextPart]


class FunctionMessage(Wire, tag_field="role", tag="function"):
    """The legacy ``function`` role: decoded only to be refused with a clear message."""


ChatMessage = (
    SystemMessage | DeveloperMessage | UserMessage | AssistantMessage | ToolMessage | FunctionMessage
)


# --- tools and tool choice -----------------------------------------------------------------------


class FunctionDef(Wire):
    name: str
    description: str | None | UnsetType = UNSET
    parameters: msgspec.Raw | UnsetType = UNSET  # a JSON Schema object
    strict: bool | None | UnsetType = UNSET


class ToolDef(Wire):
    """A ``tools[]`` entry of any type, read leniently (``function`` is the one the IR models)."""

    type: str
    function: FunctionDef | UnsetType = UNSET


class FunctionTool(Wire, tag_field="type", tag="function"):
    function: FunctionDef


class NamedFunction(Wire):
    name: str


class AllowedTools(Wire):
    mode: str  # auto / required
    tools: msgspec.Raw | UnsetType = UNSET


class ToolChoiceObject(Wire):
    """``{"type": "function", "function": {"name"}}``, its ``custom`` twin, or ``allowed_tools``."""

    type: str
    function: NamedFunction | UnsetType = UNSET
    custom: NamedFunction | UnsetType = UNSET
    allowed_tools: AllowedTools | UnsetType = UNSET


class NamedToolChoice(Wire, tag_field="type", tag="function"):
    function: NamedFunction


class StreamOptions(Wire):
    include_usage: bool | None | UnsetType = UNSET
    include_obfuscation: bool | None | UnsetType = UNSET


# --- the request ---------------------------------------------------------------------------------


class ChatCompletionRequest(Wire):
    """A client's body, as the frontdoor reads it. Fields the IR does not model are not listed:
    they reach an OpenAI upstream through the native fields, untouched."""

    model: str
    messages: list[ChatMessage]
    max_tokens: int | None | UnsetType = UNSET
    max_completion_tokens: int | None | UnsetType = UNSET
    temperature: float | None | UnsetType = UNSET
    top_p: float | None | UnsetType = UNSET
    stop: str | list[str] | None | UnsetType = UNSET
    stream: bool | None | UnsetType = UNSET
    stream_options: StreamOptions | None | UnsetType = UNSET
    user: str | None | UnsetType = UNSET
    safety_identifier: str | None | UnsetType = UNSET
    tools: list[msgspec.Raw] | None | UnsetType = UNSET  # entries read one by one with ``ToolDef``
    tool_choice: str | ToolChoiceObject | None | UnsetType = UNSET
    parallel_tool_calls: bool | None | UnsetType = UNSET
    reasoning_effort: str | None | UnsetType = UNSET
    response_format: msgspec.Raw | UnsetType = UNSET
    n: int | None | UnsetType = UNSET
    presence_penalty: float | None | UnsetType = UNSET
    frequency_penalty: float | None | UnsetType = UNSET
    seed: int | None | UnsetType = UNSET
    logprobs: bool | None | UnsetType = UNSET
    top_logprobs: int | None | UnsetType = UNSET


# --- writing -------------------------------------------------------------------------------------


class OutUserMessage(Wire, tag_field="role", tag="user"):
    """A user message as the gateway writes it: a string or typed parts (raw ones for parts that
    came from an OpenAI client and that the IR keeps opaque)."""

    content: str | list[TextPart | ImageURLPart | msgspec.Raw]


OutMessage = SystemMessage | OutUserMessage | AssistantMessage | ToolMessage


class OutRequest(Wire):
    """An upstream body built from the IR, fields in the order the API reference lists them."""

    model: str
    messages: list[OutMessage]
    max_completion_tokens: int | UnsetType = UNSET
    max_tokens: int | UnsetType = UNSET
    temperature: float | UnsetType = UNSET
    top_p: float | UnsetType = UNSET
    stop: list[str] | UnsetType = UNSET
    stream: bool | UnsetType = UNSET
    stream_options: StreamOptions | UnsetType = UNSET
    user: str | UnsetType = UNSET
    tools: list[FunctionTool | msgspec.Raw] | UnsetType = UNSET
    tool_choice: str | NamedToolChoice | UnsetType = UNSET
    parallel_tool_calls: bool | UnsetType = UNSET
    reasoning_effort: str | UnsetType = UNSET
    response_format: msgspec.Raw | UnsetType = UNSET
    n: int | UnsetType = UNSET
    presence_penalty: float | UnsetType = UNSET
    frequency_penalty: float | UnsetType = UNSET
    seed: int | UnsetType = UNSET
    logprobs: bool | UnsetType = UNSET
    top_logprobs: int | UnsetType = UNSET
