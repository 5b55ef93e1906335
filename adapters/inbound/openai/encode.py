"""IR ChatResponse -> an OpenAI chat.completion body."""

from __future__ import annotations

import time
from typing import assert_never

import msgspec
import structlog

from adapters.protocols.model_field import replace_model
from adapters.protocols.openai.response import (
    ChatCompletion,
    Choice,
    CompletionTokensDetails,
    FunctionCall,
    Message,
    PromptTokensDetails,
    ToolCall,
    Usage,
)
from domain.ir import (
    UNSET,
    ChatResponse,
    ImageBlock,
    OpaqueBlock,
    RedactedThinkingBlock,
    StopReason,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
)
from domain.ir import Usage as IRUsage
from domain.request_record import RequestRecord

log = structlog.get_logger(__name__)

_encode = msgspec.json.Encoder().encode

FINISH_REASONS: dict[StopReason | None, str] = {
    None: "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",  # cut short by the context window: OpenAI's "length"
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "content_filter": "content_filter",
}


def wire_usage(usage: IRUsage) -> Usage:
    prompt = usage.input_tokens if usage.input_tokens is not UNSET else 0
    completion = usage.output_tokens if usage.output_tokens is not UNSET else 0
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        prompt_tokens_details=(
            PromptTokensDetails(cached_tokens=usage.cache_read_tokens)
            if usage.cache_read_tokens is not UNSET
            else UNSET
        ),
        completion_tokens_details=(
            CompletionTokensDetails(reasoning_tokens=usage.reasoning_tokens)
            if usage.reasoning_tokens is not UNSET
            else UNSET
        ),
    )


def _message(response: ChatResponse) -> Message:
    texts: list[str] = []
    thinking: list[str] = []
    tool_calls: list[ToolCall] = []
    for block in response.content:
        match block:
            case TextBlock():
                texts.append(block.text)
            case ThinkingBlock():
                thinking.append(block.thinking)
            case ToolUseBlock():
                arguments = bytes(block.input).decode()
                function = FunctionCall(name=block.name, arguments=arguments)
                tool_calls.append(ToolCall(id=block.id, type="function", function=function))
            case RedactedThinkingBlock() | ImageBlock() | ToolResultBlock() | OpaqueBlock():
                log.debug("response.block_dropped", block=type(block).__name__, target="openai")
            case _:
                assert_never(block)
    content = "".join(texts) if texts else (None if tool_calls else "")
    return Message(
        role="assistant",
        content=content,
        refusal=None,
        reasoning_content="".join(thinking) if thinking else UNSET,
        tool_calls=tool_calls or UNSET,
        annotations=[],
    )


def from_ir(response: ChatResponse, record: RequestRecord) -> bytes:
    """The chat.completion body for ``response``: the upstream's own body when it spoke
    OpenAI (model replaced by the alias, if any), else one built from the IR."""
    native = response.native
    if native is not UNSET and native.protocol == "openai":
        return replace_model(native.body, record.alias) if record.alias else native.body
    created = response.created if response.created is not UNSET else int(time.time())
    choice = Choice(
        index=0,
        message=_message(response),
        logprobs=None,
        finish_reason=FINISH_REASONS.get(response.stop_reason, "stop"),
    )
    completion = ChatCompletion(
        id=response.id,
        object="chat.completion",
        created=created,
        model=record.alias or response.model,
        choices=[choice],
        usage=wire_usage(response.usage),
    )
    return _encode(completion)
