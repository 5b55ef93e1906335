"""OpenAI Chat Completions client body -> IR ``ChatRequest``.

Mapping choices:

- ``system`` and ``developer`` messages, wherever they are, become ``ChatRequest.system`` in
  order (one text block per string or text part; empty texts are skipped).
- ``tool`` messages become ``tool_result`` blocks of a user message; consecutive ones share one
  user message, in order. The legacy ``function`` role and assistant ``function_call`` are refused.
- assistant content (string, text and refusal parts, the ``refusal`` field) becomes text blocks
  (empty strings skipped: clients send ``""`` next to ``tool_calls``), then ``tool_calls`` become
  ``tool_use`` blocks whose input is the *parsed* arguments object (``""`` means ``{}``);
  ``custom`` tool calls stay opaque (kind ``custom_tool_call``).
- user parts other than ``text`` and ``image_url`` stay opaque (kind = the part type), data URLs
  become inline images.
- ``null`` for an optional parameter means "not sent"; the body itself is kept as
  ``native`` for an OpenAI upstream, so nothing the IR does not model is lost there.
"""

from __future__ import annotations

from typing import Any, TypeVar, assert_never

import msgspec
from msgspec import UNSET, UnsetType

from adapters.inbound.json_body import check_body, decode_problem
from adapters.protocols.openai import request as wire
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
    TextBlock,
    Tool,
    ToolChoice,
    ToolChoiceMode,
    ToolResultBlock,
    ToolUseBlock,
)
from domain.ir.arguments import tool_input

_request_decoder = msgspec.json.Decoder(wire.ChatCompletionRequest)
_fields_decoder = msgspec.json.Decoder(dict[str, msgspec.Raw])
_part_decoder = msgspec.json.Decoder(wire.Part)
_tool_decoder = msgspec.json.Decoder(wire.ToolDef)
_encoder = msgspec.json.Encoder()

_NULL = msgspec.Raw(b"null")
_TOOL_CHOICE_MODES: dict[str, ToolChoiceMode] = {"auto": "auto", "required": "any", "none": "none"}
_ALLOWED_TOOLS_MODES: dict[str, ToolChoiceMode] = {"auto": "auto", "required": "any"}
# Parameters copied as they are when present (``null`` meaning "not sent").
_PLAIN_PARAMS = (
    "temperature",
    "top_p",
    "parallel_tool_calls",
    "n",
    "presence_penalty",
    "frequency_penalty",
    "seed",
    "logprobs",
    "top_logprobs",
)

T = TypeVar("T")


def _invalid(message: str, param: str | None = None) -> GatewayError:
    return GatewayError(ErrorKind.INVALID_REQUEST, message, param=param)


def _param_of(message: str) -> str | None:
    """The parameter a msgspec validation message names, as OpenAI writes it (``messages[0].role``)."""
    path = ""
    head, sep, tail = message.rpartition(" - at `$")
    if sep:
        path = tail.rstrip("`")
    missing = (head if sep else message).partition("missing required field `")[2].rstrip("`")
    if missing:
        path = f"{path}.{missing}"
    param = path.lstrip(".")
    return param or None


def _validation_error(exc: msgspec.ValidationError, prefix: str = "") -> GatewayError:
    message = str(exc)
    if prefix:  # an item decoded on its own: put its path back into the body's
        message = message.replace("`$", f"`$.{prefix}")
        if " - at `$" not in message:
            message = f"{message} - at `$.{prefix}`"
    return _invalid(message, _param_of(message))


def _decode_item(decoder: msgspec.json.Decoder[Any], raw: msgspec.Raw, path: str) -> Any:
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise _validation_error(exc, path) from None


def to_ir(body: bytes) -> ChatRequest:
    """Decode a client's body; raise ``INVALID_REQUEST`` naming the offending field."""
    check_body(body)
    try:
        req = _request_decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise _validation_error(exc) from None
    except msgspec.DecodeError as exc:
        problem = decode_problem(exc, body)
        raise _invalid(f"We could not parse the JSON body of your request: {problem}.") from None
    system, messages = _messages(req.messages)
    # Only the parameters present are passed on: a struct built from few keywords is cheaper.
    params: dict[str, Any] = {
        name: value
        for name in _PLAIN_PARAMS
        if (value := getattr(req, name)) is not None and value is not UNSET
    }
    if system:
        params["system"] = system
    if (max_tokens := _first(req.max_completion_tokens, req.max_tokens)) is not UNSET:
        params["max_tokens"] = max_tokens
    if (user := _first(req.user, req.safety_identifier)) is not UNSET:
        params["user"] = user
    if req.stop is not None and req.stop is not UNSET:
        params["stop"] = [req.stop] if isinstance(req.stop, str) else req.stop
    options = req.stream_options
    if options is not None and options is not UNSET and options.include_usage is not None:
        params["include_usage"] = options.include_usage
    if req.tools is not None and req.tools is not UNSET:
        params["tools"] = _tools(req.tools)
    if req.tool_choice is not None and req.tool_choice is not UNSET:
        params["tool_choice"] = _tool_choice(req.tool_choice)
    if req.reasoning_effort is not None and req.reasoning_effort is not UNSET:
        params["reasoning"] = _reasoning(req.reasoning_effort)
    if req.response_format is not UNSET and req.response_format != _NULL:
        params["response_format"] = req.response_format
    return ChatRequest(
        model=req.model,
        messages=messages,
        stream=req.stream is True,
        native=NativeRequest(protocol="openai", fields=_fields_decoder.decode(body)),
        **params,
    )


def _opt(value: T | None | UnsetType) -> T | UnsetType:
    """``null`` means "not sent"."""
    return UNSET if value is None else value


def _first(preferred: T | None | UnsetType, fallback: T | None | UnsetType) -> T | UnsetType:
    if preferred is not None and preferred is not UNSET:
        return preferred
    return _opt(fallback)


def _raw_opt(raw: msgspec.Raw | UnsetType) -> msgspec.Raw | UnsetType:
    if raw is UNSET or raw == _NULL:
        return UNSET
    return raw


# --- messages ------------------------------------------------------------------------------------


def _messages(items: list[wire.ChatMessage]) -> tuple[list[TextBlock], list[Message]]:
    system: list[TextBlock] = []
    messages: list[Message] = []
    results: list[AnyBlock] | None = None  # the open user message of consecutive tool results
    for i, item in enumerate(items):
        if isinstance(item, wire.ToolMessage):
            block = ToolResultBlock(tool_use_id=item.tool_call_id, content=[*_texts(item.content)])
            if results is None:
                results = [block]
                messages.append(Message(role="user", content=results))
            else:
                results.append(block)
            continue
        results = None
        match item:
            case wire.SystemMessage() | wire.DeveloperMessage():
                system.extend(_texts(item.content))
            case wire.UserMessage():
                messages.append(Message(role="user", content=_user_content(item.content, i)))
            case wire.AssistantMessage():
                messages.append(Message(role="assistant", content=_assistant_content(item, i)))
            case wire.FunctionMessage():
                raise _invalid(
                    "The legacy 'function' role is not supported; send function results as "
                    "'tool' messages with a 'tool_call_id'.",
                    f"messages[{i}].role",
                )
            case _:
                assert_never(item)
    return system, messages


def _texts(content: str | list[wire.TextPart]) -> list[TextBlock]:
    if isinstance(content, str):
        return [TextBlock(text=content)] if content else []
    return [TextBlock(text=part.text) for part in content if part.text]


def _user_content(content: str | list[msgspec.Raw], i: int) -> list[AnyBlock]:
    if isinstance(content, str):
        return [TextBlock(text=content)]
    blocks: list[AnyBlock] = []
    for j, raw in enumerate(content):
        path = f"messages[{i}].content[{j}]"
        part: wire.Part = _decode_item(_part_decoder, raw, path)
        if part.type == "text":
            if part.text is UNSET:
                raise _invalid(f"Missing required parameter: '{path}.text'.", f"{path}.text")
            blocks.append(TextBlock(text=part.text))
        elif part.type == "image_url":
            if part.image_url is UNSET:
                raise _invalid(f"Missing required parameter: '{path}.image_url'.", f"{path}.image_url")
            blocks.append(_image(part.image_url))
        else:
            blocks.append(OpaqueBlock(protocol="openai", kind=part.type, data=raw))
    return blocks


def _image(image: wire.ImageURL) -> ImageBlock:
    url = image.url
    if url.startswith("data:"):
        header, comma, data = url[5:].partition(",")
        if comma and header.endswith(";base64"):
            media_type = header.partition(";")[0]
            return ImageBlock(data=data, media_type=media_type, detail=image.detail)
    return ImageBlock(url=url, detail=image.detail)


def _assistant_content(message: wire.AssistantMessage, i: int) -> list[AnyBlock]:
    if message.function_call is not None and message.function_call is not UNSET:
        raise _invalid(
            "The legacy assistant 'function_call' is not supported; send 'tool_calls' instead.",
            f"messages[{i}].function_call",
        )
    blocks: list[AnyBlock] = []
    content = message.content
    if isinstance(content, str):
        if content:
            blocks.append(TextBlock(text=content))
    elif content:
        for part in content:
            text = part.text if isinstance(part, wire.TextPart) else part.refusal
            if text:
                blocks.append(TextBlock(text=text))
    if message.refusal:
        blocks.append(TextBlock(text=message.refusal))
    for j, call in enumerate(message.tool_calls or ()):
        if call.type != "function":
            data = msgspec.Raw(_encoder.encode(call))
            blocks.append(OpaqueBlock(protocol="openai", kind=f"{call.type}_tool_call", data=data))
            continue
        path = f"messages[{i}].tool_calls[{j}].function"
        if call.function is UNSET:
            raise _invalid(f"Missing required parameter: '{path}'.", path)
        arguments = _arguments(call.function.arguments)
        blocks.append(ToolUseBlock(id=call.id, name=call.function.name, input=arguments))
    return blocks


def _arguments(arguments: str) -> msgspec.Raw:
    """The IR wants the arguments object itself; the wire carries it as a JSON string.

    OpenAI accepts any string here (a history may hold a model's truncated output), so a
    string that is not a JSON object is not refused: it is kept under ``_raw_arguments`` (see
    ``domain.ir.arguments``); the native path forwards the client's string untouched.
    """
    return tool_input(arguments)[0]


# --- parameters ----------------------------------------------------------------------------------


def _tools(tools: list[msgspec.Raw]) -> list[Tool | OpaqueTool]:
    out: list[Tool | OpaqueTool] = []
    for k, raw in enumerate(tools):
        tool: wire.ToolDef = _decode_item(_tool_decoder, raw, f"tools[{k}]")
        if tool.type != "function":
            out.append(OpaqueTool(protocol="openai", kind=tool.type, data=raw))
            continue
        function = tool.function
        if function is UNSET:
            raise _invalid(f"Missing required parameter: 'tools[{k}].function'.", f"tools[{k}].function")
        fields: dict[str, Any] = {"description": _opt(function.description), "strict": _opt(function.strict)}
        schema = _raw_opt(function.parameters)
        if schema is not UNSET:  # else the IR's default: an object without properties
            fields["input_schema"] = schema
        out.append(Tool(name=function.name, **fields))
    return out


def _tool_choice(choice: str | wire.ToolChoiceObject) -> ToolChoice:
    if isinstance(choice, str):
        mode = _TOOL_CHOICE_MODES.get(choice)
        if mode is None:
            raise _invalid(
                f"Invalid value: '{choice}'. Supported values are: 'none', 'auto', and 'required'.",
                "tool_choice",
            )
        return ToolChoice(mode=mode)
    named = {"function": choice.function, "custom": choice.custom}.get(choice.type, UNSET)
    if named is not UNSET:
        return ToolChoice(mode="tool", name=named.name)
    if choice.type == "allowed_tools" and choice.allowed_tools is not UNSET:
        # The subset of allowed tools reaches an OpenAI upstream natively; other targets get the mode.
        mode = _ALLOWED_TOOLS_MODES.get(choice.allowed_tools.mode)
        if mode is not None:
            return ToolChoice(mode=mode)
    raise _invalid(f"Invalid value for 'tool_choice' of type '{choice.type}'.", "tool_choice")


def _reasoning(effort: str) -> Reasoning:
    if effort == "none":
        return Reasoning(enabled=False)
    return Reasoning(effort=effort)
