"""Responses ``tools``, ``tool_choice`` and ``text.format`` -> their IR forms.

- Function tools are flat here (``{"type": "function", "name", "parameters", "strict"}``).
  ``strict`` left out (or ``null``) means "strict when the schema allows it", as the API
  behaves: true for a schema every object of which lists all its properties as required and
  sets ``additionalProperties: false``, otherwise left to the target's default, so a loose
  schema is never refused for a strictness the client did not ask for.
- Custom tools (free-form text input, e.g. Codex's ``apply_patch``) become functions taking
  that text as their one string parameter, ``input``, their grammar told in the description;
  the encoders turn a call of one back into a ``custom_tool_call`` item.
- Other tool types (``web_search``, ``namespace``, ``file_search``, ``mcp``, ...) need
  OpenAI's own servers: they are dropped, and named in the ``request.param_dropped`` line,
  never refused. A ``tool_choice`` naming such a tool is dropped with it.
- ``text.format``: ``json_schema`` becomes Chat Completions' ``response_format`` (the IR's
  form: the Anthropic provider maps it to structured outputs), ``json_object`` likewise,
  ``text`` (the default) sends nothing.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from adapters.inbound.openai_responses.validation import decode_at, missing
from adapters.protocols.openai.responses import request as wire
from domain.errors import invalid_request
from domain.ir import Tool, ToolChoice, ToolChoiceMode

_tool = msgspec.json.Decoder(wire.ToolDef)
_choice = msgspec.json.Decoder(str | wire.ToolChoiceObject | None)
_text = msgspec.json.Decoder(wire.TextConfig | None)
_schema = msgspec.json.Decoder()
_encode = msgspec.json.Encoder().encode

_CHOICE_MODES: dict[str, ToolChoiceMode] = {"auto": "auto", "required": "any", "none": "none"}
_ALLOWED_MODES: dict[str, ToolChoiceMode] = {"auto": "auto", "required": "any"}
_JSON_OBJECT = msgspec.Raw(b'{"type":"json_object"}')
_format = msgspec.json.Decoder(wire.CustomFormat)
CUSTOM_INPUT_SCHEMA = msgspec.Raw(
    b'{"type":"object","properties":{"input":{"type":"string","description":"The input of the tool, as '
    b'free-form text."}},"required":["input"],"additionalProperties":false}'
)


class _JsonSchema(msgspec.Struct, omit_defaults=True):
    name: str
    schema: msgspec.Raw
    description: str | UnsetType = UNSET
    strict: bool | UnsetType = UNSET


class _ResponseFormat(msgspec.Struct):
    type: str
    json_schema: _JsonSchema


def tools_to_ir(raws: list[msgspec.Raw], dropped: list[str]) -> tuple[list[Tool], frozenset[str]]:
    """The IR tools for ``raws`` and the names of the custom tools among them; the tools with
    no IR form are named in ``dropped``."""
    tools: list[Tool] = []
    custom: set[str] = set()
    for k, raw in enumerate(raws):
        path = f"tools[{k}]"
        tool: wire.ToolDef = decode_at(_tool, raw, path)
        if tool.type not in ("function", "custom"):
            dropped.append(f"{path}:{tool.type}")
            continue
        if tool.name is UNSET:
            raise missing(f"{path}.name")
        if tool.type == "custom":
            tools.append(_custom(tool.name, tool, path))
            custom.add(tool.name)
            continue
        fields: dict[str, Any] = {}
        if isinstance(tool.description, str):
            fields["description"] = tool.description
        schema = UNSET if tool.parameters == b"null" else tool.parameters
        if schema is not UNSET:
            fields["input_schema"] = schema
        strict = tool.strict if isinstance(tool.strict, bool) else _strict_by_default(schema)
        if strict is not UNSET:
            fields["strict"] = strict
        tools.append(Tool(name=tool.name, **fields))
    return tools, frozenset(custom)


def _custom(name: str, tool: wire.ToolDef, path: str) -> Tool:
    """A custom (free-form input) tool as a function taking that input as its one string
    parameter, ``input``; its grammar, if any, is told to the model in the description."""
    description = tool.description if isinstance(tool.description, str) else ""
    fmt = (
        UNSET
        if tool.format is UNSET or tool.format == b"null"
        else decode_at(_format, tool.format, f"{path}.format")
    )
    if isinstance(fmt, wire.CustomFormat) and fmt.type == "grammar" and isinstance(fmt.definition, str):
        syntax = fmt.syntax if isinstance(fmt.syntax, str) else "lark"
        grammar = f"The `input` text must match this {syntax} grammar:\n{fmt.definition}"
        description = f"{description}\n\n{grammar}" if description else grammar
    return Tool(name=name, description=description or UNSET, input_schema=CUSTOM_INPUT_SCHEMA)


def _strict_by_default(schema: msgspec.Raw | UnsetType) -> bool | UnsetType:
    if schema is UNSET:
        return UNSET
    try:
        return True if strict_compatible(_schema.decode(schema)) else UNSET
    except RecursionError:  # too deep to check: left to the target
        return UNSET


def strict_compatible(schema: Any) -> bool:
    """Whether a JSON Schema meets strict mode's rules: every object schema closes its
    properties (``additionalProperties: false``) and requires all of them."""
    if isinstance(schema, list):
        return all(strict_compatible(item) for item in schema)
    if not isinstance(schema, dict):
        return True
    properties = schema.get("properties")
    if schema.get("type") == "object" or properties is not None:
        if schema.get("additionalProperties") is not False:
            return False
        if isinstance(properties, dict) and set(schema.get("required") or ()) != set(properties):
            return False
    return all(
        strict_compatible(value)
        for key, value in schema.items()
        if key != "required" and isinstance(value, dict | list)
    )


def tool_choice_to_ir(raw: msgspec.Raw, dropped: list[str]) -> ToolChoice | UnsetType:
    """The IR tool choice; a choice of a tool that was dropped is dropped too."""
    choice = decode_at(_choice, raw, "tool_choice")
    if choice is None:
        return UNSET
    if isinstance(choice, str):
        mode = _CHOICE_MODES.get(choice)
        if mode is None:
            raise invalid_request(
                f"Invalid value: '{choice}'. Supported values are: 'none', 'auto', and 'required'.",
                param="tool_choice",
            )
        return ToolChoice(mode=mode)
    if choice.type in ("function", "custom"):
        if choice.name is UNSET:
            raise missing("tool_choice.name")
        return ToolChoice(mode="tool", name=choice.name)
    if choice.type == "allowed_tools":
        # The subset itself has no IR form: the mode is kept, the model still sees every tool.
        mode = _ALLOWED_MODES.get(choice.mode) if isinstance(choice.mode, str) else None
        if mode is None:
            raise invalid_request("tool_choice.mode must be 'auto' or 'required'.", param="tool_choice.mode")
        return ToolChoice(mode=mode)
    dropped.append(f"tool_choice:{choice.type}")
    return UNSET


def text_format_to_ir(raw: msgspec.Raw, dropped: list[str]) -> msgspec.Raw | UnsetType:
    """The IR ``response_format`` (Chat Completions' shape) for the request's ``text``."""
    text = decode_at(_text, raw, "text")
    if text is None:
        return UNSET
    if isinstance(text.verbosity, str):
        dropped.append("text.verbosity")
    fmt = text.format
    if fmt is None or fmt is UNSET or fmt.type == "text":
        return UNSET
    if fmt.type == "json_object":
        return _JSON_OBJECT
    if fmt.type != "json_schema":
        raise invalid_request(
            f"Invalid value: '{fmt.type}'. Supported values are: 'text', 'json_object', and 'json_schema'.",
            param="text.format.type",
        )
    if fmt.name is UNSET:
        raise missing("text.format.name")
    if fmt.schema is UNSET or fmt.schema == b"null":
        raise missing("text.format.schema")
    schema = _JsonSchema(
        name=fmt.name,
        schema=fmt.schema,
        description=fmt.description if isinstance(fmt.description, str) else UNSET,
        strict=fmt.strict if isinstance(fmt.strict, bool) else UNSET,
    )
    return msgspec.Raw(_encode(_ResponseFormat(type="json_schema", json_schema=schema)))
