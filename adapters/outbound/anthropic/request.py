"""IR ``ChatRequest`` -> Anthropic Messages request body (upstream wire).

Native path: when the request came from an Anthropic client (``request.native.protocol ==
"anthropic"``) its own top-level fields are forwarded, undecoded, with ``model`` replaced (for
count_tokens: only the fields that endpoint accepts). Nothing else changes, except ``stream``
should it ever disagree with ``request.stream`` (which decides the provider call made).

Translated path (the IR came from another protocol, e.g. an OpenAI client):

* ``system`` TextBlocks -> a string when there is one block, else text blocks; empty texts are
  dropped (Anthropic refuses empty text blocks anywhere).
* ``max_tokens``: the request's, else ``settings.default_max_tokens`` (Anthropic requires it).
* messages: empty text blocks are dropped, then messages left empty; consecutive messages of the
  same role are merged (block order kept); in a user message every ``tool_result`` comes first,
  in their order, then the other blocks. No placeholder turn is invented.
* images: base64 -> ``source.type: base64``; an ``http(s)`` URL -> ``source.type: url``; a
  ``data:`` URL -> decoded into a base64 source (a non-base64 data URL is refused). OpenAI's
  ``detail`` hint has no Anthropic equivalent and is dropped.
* tool ids: Anthropic refuses a ``tool_use.id`` outside ``[a-zA-Z0-9_-]+``, which other
  providers' ids in a client's history may be (Kimi's ``functions.get_weather:0``): such an id
  becomes its valid characters plus a hash of the original, the same in ``tool_use`` and
  ``tool_result``, so the pair stays linked and distinct ids stay distinct.
* thinking blocks are replayed only with their signature (unsigned ones cannot be verified by
  Anthropic: dropped and logged); redacted thinking is replayed as is. Opaque blocks and tools
  of the Anthropic protocol are sent raw; those of another protocol are refused (400, by kind).
* tools -> custom tools (name, description, input_schema, strict). tool_choice auto / any /
  none / tool(name); ``parallel_tool_calls: false`` -> ``disable_parallel_tool_use: true`` on
  the tool_choice (``auto`` when the client gave none but tools exist).
* reasoning -> ``thinking: {type: enabled, budget_tokens}``: the budget is the request's, else
  ``effort_to_budget(effort)`` (``medium`` when neither), at least 1024. Anthropic counts
  thinking inside ``max_tokens`` and requires budget < max_tokens: when max_tokens <= budget it
  becomes budget + max_tokens, so the client's limit still bounds the visible answer.
  ``Reasoning(enabled=False)`` -> ``thinking: {type: disabled}`` (explicit: on recent models an
  absent ``thinking`` may mean adaptive thinking). Thinking is left out (and logged as a dropped
  ``reasoning``) when Anthropic would refuse it: with a tool_choice that forces tool use, or
  when the last assistant turn calls tools without starting with a signed thinking block.
  With thinking on, temperature other than 1, top_k, and top_p outside [0.95, 1] are dropped.
  A temperature above 1 (OpenAI's scale goes to 2) is sent as 1, Anthropic's maximum (logged).
* Dropped and logged (``request.param_dropped``): presence_penalty, frequency_penalty, seed,
  ``response_format`` of type ``text``. Refused (400 naming the parameter): n > 1, logprobs,
  top_logprobs > 0, ``response_format`` json_object. ``response_format`` json_schema maps to
  Anthropic structured outputs, ``output_config.format: {type: json_schema, schema}``.
* ``user`` -> ``metadata.user_id``; ``stop`` -> ``stop_sequences``; ``stream`` sent only when
  true; ``include_usage`` is irrelevant (Anthropic streams always carry usage).
"""

from __future__ import annotations

from typing import Any, assert_never

import msgspec
import structlog
from msgspec import UNSET, Raw, Struct, UnsetType

from adapters.outbound.anthropic.settings import AnthropicSettings
from adapters.outbound.reasoning import MIN_BUDGET, effort_to_budget
from adapters.protocols.anthropic import request as wire
from adapters.protocols.anthropic.request import tool_id
from domain.errors import ErrorKind, GatewayError
from domain.ir import (
    ChatRequest,
    ImageBlock,
    Message,
    OpaqueBlock,
    OpaqueTool,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    Tool,
    ToolResultBlock,
    ToolUseBlock,
)

log = structlog.get_logger(__name__)

_ENCODER = msgspec.json.Encoder()
_TRUE = Raw(b"true")
TARGET = "anthropic"


class _JsonSchema(Struct):
    schema: Raw | UnsetType = UNSET


class _ResponseFormat(Struct):
    """OpenAI's ``response_format`` as the IR carries it."""

    type: str
    json_schema: _JsonSchema | UnsetType = UNSET


_RESPONSE_FORMAT = msgspec.json.Decoder(_ResponseFormat)


def build_body(request: ChatRequest, model: str, settings: AnthropicSettings) -> bytes:
    """The ``/v1/messages`` body for ``model``."""
    native = request.native
    if native is not UNSET and native.protocol == "anthropic":
        fields = dict(native.fields)
        fields["model"] = Raw(_ENCODER.encode(model))
        if request.stream != (fields.get("stream") == _TRUE):  # the provider's call decides
            if request.stream:
                fields["stream"] = _TRUE
            else:
                del fields["stream"]
        return _ENCODER.encode(fields)
    return _ENCODER.encode(_wire_request(request, model, settings))


def build_count_tokens_body(request: ChatRequest, model: str, settings: AnthropicSettings) -> bytes:
    """The ``/v1/messages/count_tokens`` body for ``model``."""
    native = request.native
    if native is not UNSET and native.protocol == "anthropic":
        fields = {k: v for k, v in native.fields.items() if k in wire.COUNT_TOKENS_FIELDS}
        fields["model"] = Raw(_ENCODER.encode(model))
        return _ENCODER.encode(fields)
    body = _wire_request(request, model, settings)
    return _ENCODER.encode(
        wire.CountTokensBody(
            model=body.model,
            messages=body.messages,
            system=body.system,
            tools=body.tools,
            tool_choice=body.tool_choice,
            thinking=body.thinking,
            output_config=body.output_config,
        )
    )


def _invalid(message: str, param: str) -> GatewayError:
    return GatewayError(ErrorKind.INVALID_REQUEST, message, param=param)


def _wire_request(request: ChatRequest, model: str, settings: AnthropicSettings) -> wire.MessagesBody:
    dropped: list[str] = []
    if request.n is not UNSET and request.n > 1:
        raise _invalid("n > 1 is not supported by this model's provider (Anthropic protocol).", "n")
    if request.logprobs is True:
        raise _invalid("logprobs is not supported by this model's provider (Anthropic protocol).", "logprobs")
    if request.top_logprobs is not UNSET and request.top_logprobs > 0:
        raise _invalid(
            "top_logprobs is not supported by this model's provider (Anthropic protocol).", "top_logprobs"
        )
    output_config = _output_config(request.response_format, dropped)
    for name in ("presence_penalty", "frequency_penalty", "seed"):
        if getattr(request, name) is not UNSET:
            dropped.append(name)

    messages = _messages(request.messages)
    tools = _tools(request)
    tool_choice = _tool_choice(request, bool(tools))
    max_tokens = settings.default_max_tokens if request.max_tokens is UNSET else request.max_tokens
    thinking, max_tokens = _thinking(request, tool_choice, messages, max_tokens, dropped)
    temperature, top_p, top_k = request.temperature, request.top_p, request.top_k
    if thinking is not UNSET and thinking.type == "enabled":
        if temperature is not UNSET and temperature != 1:
            temperature = UNSET
            dropped.append("temperature")
        if top_k is not UNSET:
            top_k = UNSET
            dropped.append("top_k")
        if top_p is not UNSET and not 0.95 <= top_p <= 1:
            top_p = UNSET
            dropped.append("top_p")
    if temperature is not UNSET and temperature > 1:
        # OpenAI's scale goes to 2, Anthropic's to 1: the nearest value Anthropic accepts.
        log.info("request.param_clamped", param="temperature", value=temperature, sent=1.0, target=TARGET)
        temperature = 1.0
    if dropped:
        log.info("request.param_dropped", params=dropped, target=TARGET)

    system = [wire.TextParam(text=b.text) for b in request.system or () if b.text]
    return wire.MessagesBody(
        model=model,
        max_tokens=max_tokens,
        messages=messages,
        system=(system[0].text if len(system) == 1 else system) if system else UNSET,
        metadata=UNSET if request.user is UNSET else wire.Metadata(user_id=request.user),
        stop_sequences=request.stop,
        stream=True if request.stream else UNSET,
        temperature=temperature,
        top_p=top_p,
        top_k=top_k,
        tools=tools or UNSET,
        tool_choice=tool_choice,
        thinking=thinking,
        output_config=output_config,
    )


def _output_config(response_format: Raw | UnsetType, dropped: list[str]) -> wire.OutputConfig | UnsetType:
    if response_format is UNSET:
        return UNSET
    try:
        fmt = _RESPONSE_FORMAT.decode(response_format)
    except msgspec.ValidationError as exc:
        raise _invalid(f"response_format: {exc}", "response_format") from None
    if fmt.type == "text":
        dropped.append("response_format")
        return UNSET
    if fmt.type == "json_schema" and fmt.json_schema is not UNSET and fmt.json_schema.schema is not UNSET:
        return wire.OutputConfig(format=wire.OutputFormat(type="json_schema", schema=fmt.json_schema.schema))
    raise _invalid(
        f"response_format of type '{fmt.type}' is not supported by this model's provider (Anthropic "
        "protocol); use type 'json_schema' with a schema.",
        "response_format",
    )


# --- messages ---------------------------------------------------------------------------


def _messages(messages: list[Message]) -> list[wire.OutMessage]:
    out: list[wire.OutMessage] = []
    results_of: dict[int, list[Any]] = {}  # user message index -> its tool_result blocks
    unsigned = 0
    for message in messages:
        results: list[Any] = []
        others: list[Any] = []
        for block in message.content:
            match block:
                case TextBlock():
                    if block.text:
                        others.append(wire.TextParam(text=block.text))
                case ImageBlock():
                    others.append(_image(block))
                case ToolUseBlock():
                    others.append(wire.ToolUseParam(id=tool_id(block.id), name=block.name, input=block.input))
                case ToolResultBlock():
                    part = _result(block)
                    (results if message.role == "user" else others).append(part)
                case ThinkingBlock():
                    if not block.signature:  # absent or "" (what a frontdoor emits for unsigned reasoning)
                        unsigned += 1
                    else:
                        others.append(wire.ThinkingParam(thinking=block.thinking, signature=block.signature))
                case RedactedThinkingBlock():
                    others.append(wire.RedactedThinkingParam(data=block.data))
                case OpaqueBlock():
                    others.append(_opaque(block))
                case _:
                    assert_never(block)
        if not results and not others:
            continue
        if out and out[-1].role == message.role:
            out[-1].content.extend(others)
        else:
            out.append(wire.OutMessage(role=message.role, content=others))
        if results:
            results_of.setdefault(len(out) - 1, []).extend(results)
    for index, results in results_of.items():
        out[index].content[:0] = results
    if unsigned:
        log.info("request.blocks_dropped", kind="thinking", count=unsigned, reason="unsigned", target=TARGET)
    return out


def _result(block: ToolResultBlock) -> wire.ToolResultParam:
    content: list[Any] = []
    for part in block.content:
        match part:
            case TextBlock():
                if part.text:
                    content.append(wire.TextParam(text=part.text))
            case ImageBlock():
                content.append(_image(part))
            case OpaqueBlock():
                content.append(_opaque(part))
            case _:
                kind = type(part).__struct_config__.tag
                raise _invalid(f"'{kind}' blocks cannot be sent inside a tool result.", "messages")
    return wire.ToolResultParam(
        tool_use_id=tool_id(block.tool_use_id), content=content or UNSET, is_error=block.is_error
    )


def _image(block: ImageBlock) -> wire.ImageParam:
    if block.data is not UNSET:
        if block.media_type is UNSET:
            raise _invalid("An inline image needs its media type.", "messages")
        source = wire.ImageSource(type="base64", media_type=block.media_type, data=block.data)
        return wire.ImageParam(source=source)
    url = block.url
    if url is UNSET:
        raise _invalid("An image needs a URL or inline data.", "messages")
    if not url.startswith("data:"):
        return wire.ImageParam(source=wire.ImageSource(type="url", url=url))
    header, comma, data = url[5:].partition(",")
    media_type, _, encoding = header.partition(";")
    if not comma or encoding != "base64" or not media_type:
        raise _invalid("Image data URLs must look like data:<media type>;base64,<data>.", "messages")
    return wire.ImageParam(source=wire.ImageSource(type="base64", media_type=media_type, data=data))


def _opaque(block: OpaqueBlock) -> Raw:
    if block.protocol == "anthropic":
        return block.data
    raise _invalid(
        f"'{block.kind}' content blocks cannot be sent to an Anthropic-protocol provider.", "messages"
    )


# --- tools and reasoning ----------------------------------------------------------------


def _tools(request: ChatRequest) -> list[Any]:
    tools: list[Any] = []
    for tool in request.tools or ():
        match tool:
            case Tool():
                tools.append(
                    wire.CustomTool(
                        name=tool.name,
                        description=tool.description,
                        input_schema=tool.input_schema,
                        strict=tool.strict,
                    )
                )
            case OpaqueTool():
                if tool.protocol != "anthropic":
                    raise _invalid(
                        f"'{tool.kind}' tools cannot be sent to an Anthropic-protocol provider.", "tools"
                    )
                tools.append(tool.data)
            case _:
                assert_never(tool)
    return tools


def _tool_choice(request: ChatRequest, has_tools: bool) -> wire.ToolChoiceParam | UnsetType:
    choice = request.tool_choice
    disable: bool | UnsetType = True if request.parallel_tool_calls is False else UNSET
    if choice is UNSET:
        if disable is True and has_tools:
            return wire.ToolChoiceParam(type="auto", disable_parallel_tool_use=True)
        return UNSET
    if choice.mode == "none":
        return wire.ToolChoiceParam(type="none")
    if choice.mode == "tool":
        if choice.name is UNSET:
            raise _invalid("A tool_choice of a named tool needs the tool's name.", "tool_choice")
        return wire.ToolChoiceParam(type="tool", name=choice.name, disable_parallel_tool_use=disable)
    return wire.ToolChoiceParam(type=choice.mode, disable_parallel_tool_use=disable)


def _thinking(
    request: ChatRequest,
    tool_choice: wire.ToolChoiceParam | UnsetType,
    messages: list[wire.OutMessage],
    max_tokens: int,
    dropped: list[str],
) -> tuple[wire.ThinkingConfig | UnsetType, int]:
    reasoning = request.reasoning
    if reasoning is UNSET:
        return UNSET, max_tokens
    if not reasoning.enabled:
        return wire.ThinkingConfig(type="disabled"), max_tokens
    forced = tool_choice is not UNSET and tool_choice.type in ("any", "tool")
    if forced or _unthought_tool_turn(messages):
        dropped.append("reasoning")
        return UNSET, max_tokens
    if reasoning.budget_tokens is not UNSET:
        budget = reasoning.budget_tokens
    else:
        budget = effort_to_budget("medium" if reasoning.effort is UNSET else reasoning.effort)
    budget = max(budget, MIN_BUDGET)
    if max_tokens <= budget:
        max_tokens += budget
    return wire.ThinkingConfig(type="enabled", budget_tokens=budget), max_tokens


def _unthought_tool_turn(messages: list[wire.OutMessage]) -> bool:
    """Whether the last assistant turn calls tools without a leading thinking block, which
    Anthropic refuses while thinking is enabled."""
    for message in reversed(messages):
        if message.role == "assistant":
            content = message.content
            calls = any(isinstance(b, wire.ToolUseParam) for b in content)
            return calls and not isinstance(content[0], wire.ThinkingParam | wire.RedactedThinkingParam)
    return False


__all__ = ["build_body", "build_count_tokens_body"]
