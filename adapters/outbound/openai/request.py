"""IR ``ChatRequest`` -> the body of an OpenAI Chat Completions request.

Native path: when the request came from an OpenAI client (``request.native.protocol ==
"openai"``), the client's own top-level fields are forwarded undecoded, with ``model`` replaced
and, when streaming, ``stream_options.include_usage`` forced to ``true`` (the client's other
``stream_options`` keys are kept). Nothing else changes: unknown and nested fields survive.

Translated path (the IR came from another protocol, e.g. an Anthropic client), choices:

- System blocks -> one leading ``system`` message whose content is the texts joined with a blank
  line (``"\\n\\n"``): a plain string is what every OpenAI-compatible server accepts.
- User turn -> first one ``tool`` message per ``tool_result`` block, in order (OpenAI wants them
  right after the assistant message holding the ``tool_calls``), then one ``user`` message with
  the rest: a lone text becomes a string, anything else a list of ``text`` / ``image_url`` parts
  (inline images as ``data:<media type>;base64,...`` URLs, ``detail`` kept).
- Tool result -> its texts joined with a blank line; ``is_error`` has no OpenAI field, so the
  content is prefixed with ``"Error: "`` to keep that signal for the model. Tool messages cannot
  carry images: a result's images go, as ``image_url`` parts, at the start of the user message
  that follows the tool messages of that turn.
- Assistant turn -> text blocks concatenated as they are (consecutive text blocks are pieces of
  one reply, e.g. split around citations) into ``content`` (``null`` when there are only tool
  calls), ``tool_use`` -> ``tool_calls`` (id kept, ``arguments`` = the input JSON as a string).
  Thinking and redacted thinking blocks are dropped: never sent as text.
- Blocks and tools opaque to another protocol (an Anthropic ``document``, server tools) -> 400
  naming their kind: refusing is better than silently answering without what the client sent.
- ``max_tokens`` -> ``settings.max_tokens_field``; ``tool_choice`` and ``parallel_tool_calls``
  only with tools; reasoning -> ``reasoning_effort`` (its effort, or the effort nearest to its
  budget; disabled reasoning sends nothing); ``stream`` also forces ``include_usage``.
- ``top_k`` has no OpenAI equivalent: dropped, with a ``request.param_dropped`` log line.
- ``user`` (an Anthropic client's ``metadata.user_id``): OpenAI refuses one longer than 64
  characters, and Claude Code's is longer; such an id is sent as its SHA-256 hex digest (64
  characters): still stable per user and opaque, as both APIs ask.
"""

from __future__ import annotations

import hashlib
from typing import Any, assert_never

import msgspec
import structlog
from msgspec import UNSET

from adapters.outbound.openai.settings import OpenAISettings
from adapters.outbound.reasoning import budget_to_effort
from adapters.protocols.openai import request as wire
from domain.errors import ErrorKind, GatewayError
from domain.ir import (
    AnyBlock,
    ChatRequest,
    ImageBlock,
    OpaqueBlock,
    OpaqueTool,
    Reasoning,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    Tool,
    ToolChoice,
    ToolResultBlock,
    ToolUseBlock,
)

log = structlog.get_logger(__name__)

_encoder = msgspec.json.Encoder()
_fields_decoder = msgspec.json.Decoder(dict[str, msgspec.Raw])
_tool_call_decoder = msgspec.json.Decoder(wire.ToolCall)
_TRUE = msgspec.Raw(b"true")
_NULL = msgspec.Raw(b"null")
_INCLUDE_USAGE = wire.StreamOptions(include_usage=True)
_TOOL_CHOICES = {"auto": "auto", "any": "required", "none": "none"}
USER_MAX_LENGTH = 64  # OpenAI answers 400 to a longer ``user``

UserPart = wire.TextPart | wire.ImageURLPart | msgspec.Raw


def build_body(request: ChatRequest, model: str, settings: OpenAISettings) -> bytes:
    """The JSON body to POST to ``{base_url}/chat/completions`` for ``model``."""
    native = request.native
    if native is not UNSET and native.protocol == "openai":
        return _native_body(native.fields, model, request.stream)
    return _encoder.encode(_wire_request(request, model, settings))


def _native_body(fields: dict[str, msgspec.Raw], model: str, stream: bool) -> bytes:
    body: dict[str, Any] = dict(fields)
    body["model"] = model
    if stream:
        options = fields.get("stream_options")
        merged = {} if options is None or options == _NULL else _fields_decoder.decode(options)
        merged["include_usage"] = _TRUE
        body["stream_options"] = merged
    return _encoder.encode(body)


def _refuse(kind: str, what: str = "content blocks") -> GatewayError:
    return GatewayError(
        ErrorKind.INVALID_REQUEST, f"'{kind}' {what} cannot be sent to an OpenAI-protocol provider."
    )


def _misplaced(tag: str, where: str) -> GatewayError:
    return GatewayError(ErrorKind.INVALID_REQUEST, f"A '{tag}' block cannot appear in {where}.")


def _wire_request(request: ChatRequest, model: str, settings: OpenAISettings) -> wire.OutRequest:
    messages: list[wire.OutMessage] = []
    if request.system:
        messages.append(wire.SystemMessage(content="\n\n".join(block.text for block in request.system)))
    for message in request.messages:
        if message.role == "user":
            _user_turn(message.content, messages)
        else:
            messages.append(_assistant_turn(message.content))
    body = wire.OutRequest(model=model, messages=messages)
    if request.max_tokens is not UNSET:
        if settings.max_tokens_field == "max_tokens":
            body.max_tokens = request.max_tokens
        else:
            body.max_completion_tokens = request.max_tokens
    body.temperature = request.temperature
    body.top_p = request.top_p
    body.stop = request.stop
    if request.stream:
        body.stream = True
        body.stream_options = _INCLUDE_USAGE
    body.user = _user(request.user)
    if request.tools:
        body.tools = [_tool(tool) for tool in request.tools]
        body.tool_choice = _tool_choice(request.tool_choice)
        body.parallel_tool_calls = request.parallel_tool_calls
    body.reasoning_effort = _reasoning_effort(request.reasoning)
    body.response_format = request.response_format
    body.n = request.n
    body.presence_penalty = request.presence_penalty
    body.frequency_penalty = request.frequency_penalty
    body.seed = request.seed
    body.logprobs = request.logprobs
    body.top_logprobs = request.top_logprobs
    if request.top_k is not UNSET:
        log.info("request.param_dropped", params=["top_k"], target="openai", provider=settings.name)
    return body


# --- messages ------------------------------------------------------------------------------------


def _user_turn(blocks: list[AnyBlock], out: list[wire.OutMessage]) -> None:
    parts: list[UserPart] = []
    result_images: list[UserPart] = []
    for block in blocks:
        match block:
            case TextBlock():
                parts.append(wire.TextPart(text=block.text))
            case ImageBlock():
                parts.append(_image_part(block))
            case ToolResultBlock():
                out.append(_tool_message(block, result_images))
            case OpaqueBlock(protocol="openai"):
                parts.append(block.data)
            case OpaqueBlock():
                raise _refuse(block.kind)
            case ThinkingBlock() | RedactedThinkingBlock():
                pass  # never sent as text
            case ToolUseBlock():
                raise _misplaced("tool_use", "a user message")
            case _:
                assert_never(block)
    parts = result_images + parts
    if not parts:
        return
    if len(parts) == 1 and isinstance(parts[0], wire.TextPart):
        out.append(wire.OutUserMessage(content=parts[0].text))
    else:
        out.append(wire.OutUserMessage(content=parts))


def _tool_message(result: ToolResultBlock, images: list[UserPart]) -> wire.ToolMessage:
    texts: list[str] = []
    for block in result.content:
        match block:
            case TextBlock():
                texts.append(block.text)
            case ImageBlock():
                images.append(_image_part(block))
            case OpaqueBlock():
                raise _refuse(block.kind)
            case _:
                raise _misplaced(str(block.__struct_config__.tag), "a tool result")
    text = "\n\n".join(texts)
    if result.is_error is True:
        text = f"Error: {text}" if text else "Error"
    return wire.ToolMessage(tool_call_id=result.tool_use_id, content=text)


def _image_part(image: ImageBlock) -> wire.ImageURLPart:
    if image.data is not UNSET:
        url = f"data:{image.media_type or 'image/png'};base64,{image.data}"
    elif image.url is not UNSET:
        url = image.url
    else:
        raise GatewayError(ErrorKind.INVALID_REQUEST, "An image block needs either data or a url.")
    return wire.ImageURLPart(image_url=wire.ImageURL(url=url, detail=image.detail))


def _assistant_turn(blocks: list[AnyBlock]) -> wire.AssistantMessage:
    texts: list[str] = []
    calls: list[wire.ToolCall] = []
    for block in blocks:
        match block:
            case TextBlock():
                texts.append(block.text)
            case ToolUseBlock():
                arguments = bytes(block.input).decode() or "{}"
                function = wire.FunctionCall(name=block.name, arguments=arguments)
                calls.append(wire.ToolCall(id=block.id, function=function))
            case ThinkingBlock() | RedactedThinkingBlock():
                pass  # never sent as text
            case OpaqueBlock(protocol="openai") if block.kind.endswith("_tool_call"):
                calls.append(_tool_call_decoder.decode(block.data))
            case OpaqueBlock():
                raise _refuse(block.kind)
            case ImageBlock() | ToolResultBlock():
                raise _misplaced(str(block.__struct_config__.tag), "an assistant message")
            case _:
                assert_never(block)
    content = "".join(texts) if texts else (None if calls else "")
    return wire.AssistantMessage(content=content, tool_calls=calls or UNSET)


# --- tools and parameters ------------------------------------------------------------------------


def _user(user: str | msgspec.UnsetType) -> str | msgspec.UnsetType:
    if user is UNSET or len(user) <= USER_MAX_LENGTH:
        return user
    return hashlib.sha256(user.encode()).hexdigest()


def _tool(tool: Tool | OpaqueTool) -> wire.FunctionTool | msgspec.Raw:
    match tool:
        case Tool():
            function = wire.FunctionDef(
                name=tool.name, description=tool.description, parameters=tool.input_schema, strict=tool.strict
            )
            return wire.FunctionTool(function=function)
        case OpaqueTool(protocol="openai"):
            return tool.data
        case OpaqueTool():
            raise _refuse(tool.kind, "tools")
        case _:
            assert_never(tool)


def _tool_choice(choice: ToolChoice | msgspec.UnsetType) -> str | wire.NamedToolChoice | msgspec.UnsetType:
    if choice is UNSET:
        return UNSET
    if choice.mode == "tool":
        if choice.name is UNSET:
            raise GatewayError(ErrorKind.INVALID_REQUEST, "A 'tool' tool choice needs the tool's name.")
        return wire.NamedToolChoice(function=wire.NamedFunction(name=choice.name))
    return _TOOL_CHOICES[choice.mode]


def _reasoning_effort(reasoning: Reasoning | msgspec.UnsetType) -> str | msgspec.UnsetType:
    if reasoning is UNSET or not reasoning.enabled:
        return UNSET
    if reasoning.effort is not UNSET:
        return reasoning.effort
    if reasoning.budget_tokens is not UNSET:
        return budget_to_effort(reasoning.budget_tokens)
    return UNSET
