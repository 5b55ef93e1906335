"""Anthropic Messages request (client wire) -> IR ``ChatRequest``.

Choices:

* The body is parsed once as ``dict[str, msgspec.Raw]``, kept as ``native`` so that an
  Anthropic upstream gets every field (unknown and nested ones included) untouched; each field
  the IR models is then decoded from its raw value by a typed decoder. ``messages`` are decoded
  in one typed pass; only when a block the IR does not model is present (a ``document``, a
  server tool result, an image by ``file_id``, ...) is the content re-read block by block to
  keep that block's raw JSON in an ``OpaqueBlock(protocol="anthropic")``. Server tools likewise
  become ``OpaqueTool``s holding their raw definition.
* ``cache_control``, ``citations`` and other per-block extras are not modelled: they live in
  ``native`` only. ``system`` becomes TextBlocks; ``role: "system"`` messages (accepted by recent
  API versions) are appended to ``system`` in order, since the IR has no positional system turn.
* ``thinking``: enabled -> ``Reasoning(budget_tokens)``; disabled -> ``Reasoning(enabled=False)``;
  adaptive / between_tools -> ``Reasoning()``; ``output_config.effort`` -> ``Reasoning.effort``
  (OpenAI's scale: ``max`` becomes ``xhigh``). Unknown thinking types stay in ``native`` only.
* ``output_config.format`` (or the beta ``output_format``) json_schema -> ``response_format``
  in the IR's (OpenAI) shape, strict, named ``response``.
* Optional parameters sent as ``null`` count as absent. Errors name the field path the way
  Anthropic does (``max_tokens: Field required``, ``messages.0.content.1.text: ...``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, assert_never

import msgspec
from msgspec import UNSET, Raw

from adapters.inbound.json_body import check_body, decode_problem
from adapters.protocols.anthropic import request as wire
from domain.errors import ErrorKind, GatewayError
from domain.ir import (
    AnyBlock,
    ChatRequest,
    ImageBlock,
    Message,
    NativeRequest,
    OpaqueBlock,
    OpaqueTool,
    Reasoning,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    Tool,
    ToolChoice,
    ToolChoiceMode,
    ToolResultBlock,
    ToolUseBlock,
)

_FIELDS = msgspec.json.Decoder(dict[str, Raw])
_PARAMS = {name: msgspec.json.Decoder(kind) for name, kind in wire.REQUEST_FIELDS.items()}
_MESSAGES = msgspec.json.Decoder(list[wire.MessageParam])
_RAW_MESSAGES = msgspec.json.Decoder(list[wire.RawMessageParam])
_TOOLS = msgspec.json.Decoder(list[wire.ToolDef])
_RAW_LIST = msgspec.json.Decoder(list[Raw])
_TOOL_CHOICE_MODES: dict[str, ToolChoiceMode] = {"auto": "auto", "any": "any", "none": "none"}
_HEAD = msgspec.json.Decoder(wire.BlockHead)
_RAW_PASS_BLOCK = msgspec.json.Decoder(wire.RawPassBlock)
_NESTED_BLOCK = msgspec.json.Decoder(wire.NestedBlock)
_ENCODER = msgspec.json.Encoder()

_T = TypeVar("_T")
PASSTHROUGH_HEADERS = ("anthropic-version", "anthropic-beta")
_MISSING = "Object missing required field `"
_NULL = Raw(b"null")
_MESSAGES_REQUIRED = ("model", "messages", "max_tokens")
_COUNT_REQUIRED = ("model", "messages")
_EFFORTS = {"low": "low", "medium": "medium", "high": "high", "xhigh": "xhigh", "max": "xhigh"}


def to_ir(body: bytes, headers: Mapping[str, str]) -> ChatRequest:
    """A ``/v1/messages`` body (``model``, ``messages`` and ``max_tokens`` required)."""
    return _decode(body, headers, _MESSAGES_REQUIRED)


def count_tokens_to_ir(body: bytes, headers: Mapping[str, str]) -> ChatRequest:
    """A ``/v1/messages/count_tokens`` body (``model`` and ``messages`` required)."""
    return _decode(body, headers, _COUNT_REQUIRED)


class _NeedRaw(Exception):
    """The typed pass met a block it can only keep as raw JSON: take the block-by-block pass."""


def _decode(body: bytes, headers: Mapping[str, str], required: tuple[str, ...]) -> ChatRequest:
    check_body(body)
    try:
        fields = _FIELDS.decode(body)
    except msgspec.ValidationError:
        raise GatewayError(ErrorKind.INVALID_REQUEST, "The request body must be a JSON object.") from None
    except msgspec.DecodeError as exc:
        raise GatewayError(
            ErrorKind.INVALID_REQUEST, f"The request body is not valid JSON: {decode_problem(exc, body)}."
        ) from None
    for name in required:
        if name not in fields:
            raise _required(name)
    # Each modelled field is decoded from its raw value: the body is parsed in full only once.
    params: dict[str, Any] = {}
    for name, raw in fields.items():
        decoder = _PARAMS.get(name)
        if decoder is not None:
            try:
                value = decoder.decode(raw)
            except msgspec.ValidationError as exc:
                raise _invalid(str(exc), f"$.{name}") from None
            if value is not None:
                params[name] = value

    messages, system = _messages(fields["messages"])
    top = params.get("system")
    if top is not None:
        head = [TextBlock(text=top)] if isinstance(top, str) else [TextBlock(text=b.text) for b in top]
        system = head + system
    metadata: wire.Metadata | None = params.get("metadata")
    tool_choice, parallel = _tool_choice(params.get("tool_choice"))
    return ChatRequest(
        model=params["model"],
        messages=messages,
        system=system or UNSET,
        max_tokens=params.get("max_tokens", UNSET),
        temperature=params.get("temperature", UNSET),
        top_p=params.get("top_p", UNSET),
        top_k=params.get("top_k", UNSET),
        stop=params.get("stop_sequences", UNSET),
        stream=params.get("stream", False),
        user=UNSET if metadata is None else _opt(metadata.user_id),
        tools=_tools(fields.get("tools")),
        tool_choice=tool_choice,
        parallel_tool_calls=parallel,
        reasoning=_reasoning(params.get("thinking"), params.get("output_config")),
        response_format=_response_format(params.get("output_config"), params.get("output_format")),
        native=NativeRequest(protocol="anthropic", fields=fields),
        passthrough_headers={name: v for name in PASSTHROUGH_HEADERS if (v := headers.get(name)) is not None},
    )


def _opt(value: _T | None | msgspec.UnsetType) -> _T | msgspec.UnsetType:
    return UNSET if value is None else value


# --- messages ---------------------------------------------------------------------------


def _messages(raw: Raw) -> tuple[list[Message], list[TextBlock]]:
    """The IR messages, and the text of ``role: system`` messages."""
    try:
        return _from_typed(_MESSAGES.decode(raw))
    except (msgspec.ValidationError, _NeedRaw):
        pass  # an unmodelled block, or an error: the block-by-block pass keeps or names it
    try:
        items = _RAW_MESSAGES.decode(raw)
    except msgspec.ValidationError as exc:
        raise _invalid(str(exc), "$.messages") from None
    messages: list[Message] = []
    system: list[TextBlock] = []
    for i, message in enumerate(items):
        if isinstance(message.content, str):
            blocks: list[AnyBlock] = [TextBlock(text=message.content)]
        else:
            base = f"$.messages[{i}].content"
            blocks = [_raw_block(r, f"{base}[{j}]", False) for j, r in enumerate(message.content)]
        _place(message.role, blocks, i, messages, system)
    return messages, system


def _from_typed(items: list[wire.MessageParam]) -> tuple[list[Message], list[TextBlock]]:
    messages: list[Message] = []
    system: list[TextBlock] = []
    for i, message in enumerate(items):
        content = message.content
        blocks: list[AnyBlock] = (
            [TextBlock(text=content)] if isinstance(content, str) else [_block(b, None) for b in content]
        )
        _place(message.role, blocks, i, messages, system)
    return messages, system


def _place(
    role: wire.MessageRole, blocks: list[AnyBlock], i: int, messages: list[Message], system: list[TextBlock]
) -> None:
    if role != "system":
        messages.append(Message(role=role, content=blocks))
        return
    for j, block in enumerate(blocks):
        if not isinstance(block, TextBlock):
            raise GatewayError(
                ErrorKind.INVALID_REQUEST,
                f"messages.{i}.content.{j}: system messages may only contain text blocks",
                param=f"messages.{i}.content.{j}",
            )
        system.append(block)


def _block(block: wire.KnownBlock | wire.ToolResultRawParam, raw: Raw | None) -> AnyBlock:
    match block:
        case wire.TextParam():
            return TextBlock(text=block.text)
        case wire.ImageParam():
            return _image(block, raw)
        case wire.ToolUseParam():
            return ToolUseBlock(id=block.id, name=block.name, input=block.input)
        case wire.ToolResultParam():
            content = block.content
            if isinstance(content, list):
                nested: list[AnyBlock] = [_block(b, None) for b in content]
            else:
                nested = [TextBlock(text=content)] if content else []
            return ToolResultBlock(tool_use_id=block.tool_use_id, content=nested, is_error=block.is_error)
        case wire.ThinkingParam():
            return ThinkingBlock(thinking=block.thinking, signature=block.signature)
        case wire.RedactedThinkingParam():
            return RedactedThinkingBlock(data=block.data)
        case wire.ToolResultRawParam():  # only built by _raw_block, which converts it itself
            raise AssertionError("tool_result content must be converted block by block")
        case _:
            assert_never(block)


def _image(block: wire.ImageParam, raw: Raw | None) -> AnyBlock:
    source = block.source
    if source.type == "base64" and source.data is not UNSET and source.media_type is not UNSET:
        return ImageBlock(data=source.data, media_type=source.media_type)
    if source.type == "url" and source.url is not UNSET:
        return ImageBlock(url=source.url)
    if raw is None:  # a file_id or an unknown source: only the raw block can carry it
        raise _NeedRaw
    return OpaqueBlock(protocol="anthropic", kind="image", data=raw)


def _raw_block(raw: Raw, path: str, nested: bool) -> AnyBlock:
    try:
        kind = _HEAD.decode(raw).type
    except msgspec.ValidationError as exc:
        raise _invalid(str(exc), path) from None
    if kind not in (wire.NESTED_BLOCK_TYPES if nested else wire.KNOWN_BLOCK_TYPES):
        return OpaqueBlock(protocol="anthropic", kind=kind, data=raw)
    try:
        block = (_NESTED_BLOCK if nested else _RAW_PASS_BLOCK).decode(raw)
    except msgspec.ValidationError as exc:
        raise _invalid(str(exc), path) from None
    if isinstance(block, wire.ToolResultRawParam):
        content = block.content
        if isinstance(content, list):
            inner: list[AnyBlock] = [
                _raw_block(r, f"{path}.content[{k}]", True) for k, r in enumerate(content)
            ]
        else:
            inner = [TextBlock(text=content)] if content else []
        return ToolResultBlock(tool_use_id=block.tool_use_id, content=inner, is_error=block.is_error)
    return _block(block, raw)


# --- tools and options ------------------------------------------------------------------


def _tools(raw: Raw | None) -> list[Tool | OpaqueTool] | msgspec.UnsetType:
    if raw is None or raw == _NULL:  # `tools: null`: absent
        return UNSET
    try:
        defs = _TOOLS.decode(raw)
    except msgspec.ValidationError as exc:
        raise _invalid(str(exc), "$.tools") from None
    raws: list[Raw] | None = None
    tools: list[Tool | OpaqueTool] = []
    for i, tool in enumerate(defs):
        if tool.type is UNSET or tool.type is None or tool.type == "custom":
            if tool.name is UNSET:
                raise _required(f"tools.{i}.name")
            if tool.input_schema is UNSET:
                raise _required(f"tools.{i}.input_schema")
            tools.append(
                Tool(
                    name=tool.name,
                    description=_opt(tool.description),
                    input_schema=tool.input_schema,
                    strict=_opt(tool.strict),
                )
            )
        else:
            if raws is None:
                raws = _RAW_LIST.decode(raw)
            tools.append(OpaqueTool(protocol="anthropic", kind=tool.type, data=raws[i]))
    return tools


def _tool_choice(
    choice: wire.ToolChoiceParam | None,
) -> tuple[ToolChoice | msgspec.UnsetType, bool | msgspec.UnsetType]:
    if choice is None:
        return UNSET, UNSET
    parallel: bool | msgspec.UnsetType = False if choice.disable_parallel_tool_use is True else UNSET
    mode = _TOOL_CHOICE_MODES.get(choice.type)
    if mode is not None:
        return ToolChoice(mode=mode), parallel
    if choice.type == "tool":
        if choice.name is UNSET:
            raise _required("tool_choice.name")
        return ToolChoice(mode="tool", name=choice.name), parallel
    return UNSET, parallel  # a tool_choice type the IR does not know: native only


def _reasoning(
    thinking: wire.ThinkingConfig | None, config: wire.OutputConfig | None
) -> Reasoning | msgspec.UnsetType:
    effort = UNSET if config is None or config.effort is None else config.effort
    if effort is not UNSET:
        effort = _EFFORTS.get(effort, effort)
    if thinking is None:
        return UNSET if effort is UNSET else Reasoning(effort=effort)
    if thinking.type == "enabled":
        if thinking.budget_tokens is UNSET or thinking.budget_tokens is None:
            raise _required("thinking.budget_tokens")
        return Reasoning(budget_tokens=thinking.budget_tokens, effort=effort)
    if thinking.type == "disabled":
        return Reasoning(enabled=False)
    if thinking.type == "adaptive" or thinking.type == "between_tools":
        return Reasoning(effort=effort)
    return UNSET


def _response_format(
    config: wire.OutputConfig | None, fmt: wire.OutputFormat | None
) -> Raw | msgspec.UnsetType:
    if config is not None and config.format is not UNSET and config.format is not None:
        fmt = config.format
    if fmt is None or fmt.type != "json_schema" or fmt.schema is UNSET:
        return UNSET
    schema = {"name": "response", "schema": fmt.schema, "strict": True}
    shaped = {"type": "json_schema", "json_schema": schema}
    return Raw(_ENCODER.encode(shaped))


# --- errors -----------------------------------------------------------------------------


def _invalid(message: str, prefix: str = "$") -> GatewayError:
    """A msgspec validation message as Anthropic words it: ``<dotted.path>: <problem>``."""
    text, sep, at = message.partition(" - at `")
    path = at[:-1] if sep else "$"
    if prefix != "$":
        path = prefix + path[1:]
    dotted = path[1:].lstrip(".").replace("[", ".").replace("]", "")
    if text.startswith(_MISSING):
        field = text[len(_MISSING) : -1]
        return _required(f"{dotted}.{field}" if dotted else field)
    if not dotted:
        return GatewayError(ErrorKind.INVALID_REQUEST, text)
    return GatewayError(ErrorKind.INVALID_REQUEST, f"{dotted}: {text}", param=dotted)


def _required(dotted: str) -> GatewayError:
    return GatewayError(ErrorKind.INVALID_REQUEST, f"{dotted}: Field required", param=dotted)
