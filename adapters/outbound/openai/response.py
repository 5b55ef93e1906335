"""An upstream chat.completion -> IR ChatResponse."""

from __future__ import annotations

from typing import Any

import msgspec
import structlog

from adapters.outbound.ids import new_call_id
from adapters.outbound.openai.errors import error_object, kind_of
from adapters.protocols.openai.response import ChatCompletion, ChatCompletionHead, Message, ToolCall
from adapters.protocols.openai.response import Usage as WireUsage
from domain.errors import ErrorKind, GatewayError
from domain.ir import (
    UNSET,
    AnyBlock,
    ChatResponse,
    NativeResponse,
    StopReason,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    Usage,
)
from domain.ir.arguments import tool_input as _tool_input

log = structlog.get_logger(__name__)

_decoder = msgspec.json.Decoder(ChatCompletion)
_head_decoder = msgspec.json.Decoder(ChatCompletionHead)

STOP_REASONS: dict[str, StopReason] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "content_filter",
}


def stop_of(finish_reason: str, stop_reason: object, has_tools: bool) -> tuple[StopReason, str | None]:
    """IR stop reason and stop sequence of a choice's ``finish_reason`` and (vLLM's)
    ``stop_reason``: the stop string matched, when it is a string and the reason is "stop".

    Some servers (older vLLM, Ollama) finish a turn that called tools with "stop"; clients of
    other protocols must still see ``tool_use``. An unknown finish_reason ends the turn.
    """
    reason = STOP_REASONS.get(finish_reason, "end_turn")
    if reason != "end_turn":
        return reason, None
    if has_tools:
        return "tool_use", None
    if finish_reason == "stop" and isinstance(stop_reason, str):
        return "stop_sequence", stop_reason
    return "end_turn", None


def tool_input(arguments: str | None | Any) -> msgspec.Raw:
    """The IR input of a tool call's ``arguments`` string (see ``domain.ir.arguments``)."""
    raw, valid = _tool_input(arguments if isinstance(arguments, str) else None)
    if not valid:
        length = len(arguments) if isinstance(arguments, str) else 0
        log.warning("response.tool_arguments_invalid", length=length)
    return raw


def text_of(content: str | list[dict[str, Any]] | None | Any) -> str:
    """Message content as text: a string, or the text parts of a list (some servers)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part["text"]
            for part in content
            if part.get("type") == "text" and isinstance(part.get("text"), str)
        )
    return ""


def reasoning_of(message: Message) -> str:
    if message.reasoning_content:
        return message.reasoning_content
    if isinstance(message.reasoning, str):
        return message.reasoning
    return ""


def usage_of(wire: WireUsage | None | Any) -> Usage:
    if not isinstance(wire, WireUsage):
        return Usage()
    cached = wire.prompt_cache_hit_tokens
    if wire.prompt_tokens_details:
        details = wire.prompt_tokens_details.cached_tokens
        if isinstance(details, int):
            cached = details
    reasoning = wire.completion_tokens_details.reasoning_tokens if wire.completion_tokens_details else UNSET
    return Usage(
        input_tokens=wire.prompt_tokens if isinstance(wire.prompt_tokens, int) else UNSET,
        output_tokens=wire.completion_tokens if isinstance(wire.completion_tokens, int) else UNSET,
        cache_read_tokens=cached if isinstance(cached, int) else UNSET,
        reasoning_tokens=reasoning if isinstance(reasoning, int) else UNSET,
    )


def _head_only(body: bytes) -> ChatResponse:
    try:
        head = _head_decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        message = f"Upstream sent an unreadable chat.completion: {exc}"
        raise GatewayError(ErrorKind.PROTOCOL, message) from None
    if not head.choices and head.error:
        error = error_object(head.error, "upstream")
        raise GatewayError(kind_of(error), error.message or "Upstream reported an error.")
    return ChatResponse(
        id=head.id, model=head.model, content=[], usage=usage_of(head.usage), created=head.created,
        native=NativeResponse(protocol="openai", body=body),
    )


def _tool_block(call: ToolCall) -> ToolUseBlock:
    function = call.function or None
    return ToolUseBlock(
        id=call.id or new_call_id(),
        name=(function.name if function else None) or "",
        input=tool_input(function.arguments if function else None),
    )


def parse_response(body: bytes, *, content: bool = True) -> ChatResponse:
    """Parse an upstream chat.completion; only ``choices[0]`` becomes IR content (``n > 1``
    reaches OpenAI clients through the native body).

    ``content=False``: the body will be relayed as it is (an OpenAI client on an OpenAI
    upstream), so only what routing and logging need is read (id, model, usage, an error).
    """
    if not content:
        return _head_only(body)
    try:
        wire = _decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise GatewayError(
            ErrorKind.PROTOCOL, f"Upstream sent an unreadable chat.completion: {exc}"
        ) from None
    if not wire.choices and wire.error:
        error = error_object(wire.error, "upstream")
        raise GatewayError(kind_of(error), error.message or "Upstream reported an error.")
    blocks: list[AnyBlock] = []
    stop_reason: StopReason | None = None
    stop_sequence: str | None = None
    if wire.choices:
        choice = wire.choices[0]
        message = choice.message or Message()
        if thinking := reasoning_of(message):
            blocks.append(ThinkingBlock(thinking=thinking))
        if text := text_of(message.content):
            blocks.append(TextBlock(text=text))
        if message.refusal:
            blocks.append(TextBlock(text=message.refusal))
        for call in message.tool_calls or ():
            blocks.append(_tool_block(call))
        if message.function_call:
            blocks.append(_tool_block(ToolCall(function=message.function_call)))
        if choice.finish_reason:
            has_tools = bool(message.tool_calls or message.function_call)
            stop_reason, stop_sequence = stop_of(choice.finish_reason, choice.stop_reason, has_tools)
    return ChatResponse(
        id=wire.id,
        model=wire.model,
        content=blocks,
        stop_reason=stop_reason,
        stop_sequence=stop_sequence,
        usage=usage_of(wire.usage),
        created=wire.created,
        native=NativeResponse(protocol="openai", body=body),
    )
