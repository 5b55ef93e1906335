"""IR ``ChatResponse`` -> the Response object (``"object": "response"``).

- ``id`` and ``created_at`` are the call's (minted once per request, never an upstream's: a
  fallback to another target must not change them); ``model`` is the route's alias when it
  reports one, else the model that answered; the request's parameters are echoed as sent.
- ``status``: ``completed``, or ``incomplete`` with ``incomplete_details.reason``
  ``max_output_tokens`` (the token limit or the context window cut the answer short) or
  ``content_filter`` (a refusal or a filter); the last output item is then ``incomplete`` too.
- ``output``: consecutive text blocks -> one ``message`` item with one ``output_text`` part;
  ``tool_use`` -> a ``function_call`` item (``fc_`` id, ``call_id`` = the tool call's id,
  ``arguments`` as text), or a ``custom_tool_call`` item (its ``input`` text) when it calls
  one of the request's custom tools; thinking -> a ``reasoning`` item (its text as the summary, its state
  in ``encrypted_content``: see ``reasoning.py``). Blocks with no Responses form (an Anthropic
  server tool's result) are left out.
- ``usage``: input (cached and cache-written parts in ``input_tokens_details``), output
  (reasoning part in ``output_tokens_details``), total; unknown counts are 0.
"""

from __future__ import annotations

import time
from typing import assert_never

import msgspec
import structlog

from adapters.inbound.openai_responses.decode import ResponsesCall, new_id
from adapters.inbound.openai_responses.reasoning import seal
from adapters.protocols.openai.responses.response import (
    CustomToolCallItem,
    FunctionCallItem,
    IncompleteDetails,
    InputTokensDetails,
    MessageItem,
    OutputItem,
    OutputText,
    OutputTokensDetails,
    ReasoningItem,
    Response,
    ResponseError,
    SummaryText,
    Usage,
)
from domain.errors import ErrorKind
from domain.ir import (
    AnyBlock,
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
from domain.ir.arguments import RAW_ARGUMENTS_KEY
from domain.request_record import RequestRecord

log = structlog.get_logger(__name__)

_encode = msgspec.json.Encoder().encode
_raw_arguments = msgspec.json.Decoder(dict[str, str])


class _CustomArguments(msgspec.Struct):
    input: str | None = None


_custom_arguments = msgspec.json.Decoder(_CustomArguments)
_RAW_ARGUMENTS_HEAD = b'{"' + RAW_ARGUMENTS_KEY.encode() + b'":'

INCOMPLETE_REASONS: dict[StopReason | None, str] = {
    "max_tokens": "max_output_tokens",
    "model_context_window_exceeded": "max_output_tokens",
    "refusal": "content_filter",
    "content_filter": "content_filter",
}
FAILURE_CODES: dict[ErrorKind, str] = {
    ErrorKind.RATE_LIMITED: "rate_limit_exceeded",
    ErrorKind.INVALID_REQUEST: "invalid_prompt",
    ErrorKind.REQUEST_TOO_LARGE: "invalid_prompt",
}


def encode_response(response: Response) -> bytes:
    return _encode(response)


def wire_usage(usage: IRUsage) -> Usage:
    def count(value: int | msgspec.UnsetType) -> int:
        return value if isinstance(value, int) else 0

    input_tokens, output_tokens = count(usage.input_tokens), count(usage.output_tokens)
    return Usage(
        input_tokens=input_tokens,
        input_tokens_details=InputTokensDetails(
            cached_tokens=count(usage.cache_read_tokens),
            cache_write_tokens=count(usage.cache_creation_tokens),
        ),
        output_tokens=output_tokens,
        output_tokens_details=OutputTokensDetails(reasoning_tokens=count(usage.reasoning_tokens)),
        total_tokens=input_tokens + output_tokens,
    )


def incomplete_details(stop_reason: StopReason | None) -> IncompleteDetails | None:
    reason = INCOMPLETE_REASONS.get(stop_reason)
    return None if reason is None else IncompleteDetails(reason=reason)


def failure(kind: str, message: str) -> ResponseError:
    """The ``error`` of a failed Response for an ``ErrorKind`` value."""
    try:
        code = FAILURE_CODES.get(ErrorKind(kind), "server_error")
    except ValueError:
        code = "server_error"
    return ResponseError(code=code, message=message)


def arguments_text(arguments: msgspec.Raw) -> str:
    """A tool call's arguments as the text the model wrote: the IR's object, or the original
    text of arguments that were not a JSON object (kept under ``_raw_arguments``)."""
    data = bytes(arguments)
    if data.startswith(_RAW_ARGUMENTS_HEAD):
        try:
            return _raw_arguments.decode(data)[RAW_ARGUMENTS_KEY]
        except (msgspec.DecodeError, msgspec.ValidationError, KeyError):
            pass
    return data.decode() or "{}"


def custom_input(arguments: str) -> str:
    """A custom tool's free-form input, from the arguments of the function standing for it
    (``{"input": text}``); arguments of another shape are passed on as they are."""
    try:
        value = _custom_arguments.decode(arguments).input
    except (msgspec.DecodeError, msgspec.ValidationError):
        return arguments
    return value if isinstance(value, str) else arguments


def tool_call_item(
    name: str, call_id: str, arguments: str, status: str, custom: frozenset[str], item_id: str | None = None
) -> FunctionCallItem | CustomToolCallItem:
    """The item of a tool call: a ``custom_tool_call`` for a custom tool, else a ``function_call``."""
    if name in custom:
        item_id = item_id or new_id("ctc")
        return CustomToolCallItem(
            id=item_id, status=status, call_id=call_id, input=custom_input(arguments), name=name
        )
    item_id = item_id or new_id("fc")
    return FunctionCallItem(id=item_id, status=status, arguments=arguments, call_id=call_id, name=name)


def reasoning_item(
    block: ThinkingBlock | RedactedThinkingBlock, protocol: str | None, item_id: str
) -> ReasoningItem:
    text = block.thinking if isinstance(block, ThinkingBlock) else ""
    summary = [SummaryText(text=text)] if text else []
    return ReasoningItem(id=item_id, summary=summary, encrypted_content=seal(block, protocol))


def output_items(
    blocks: list[AnyBlock], protocol: str | None, custom: frozenset[str] = frozenset()
) -> list[OutputItem]:
    items: list[OutputItem] = []
    texts: list[str] = []  # consecutive text blocks: one message

    def close_message() -> None:
        if texts:
            items.append(
                MessageItem(id=new_id("msg"), status="completed", content=[OutputText(text="".join(texts))])
            )
            texts.clear()

    for block in blocks:
        match block:
            case TextBlock():
                if block.text:
                    texts.append(block.text)
                continue
            case ThinkingBlock() | RedactedThinkingBlock():
                close_message()
                items.append(reasoning_item(block, protocol, new_id("rs")))
            case ToolUseBlock():
                close_message()
                arguments = arguments_text(block.input)
                items.append(tool_call_item(block.name, block.id, arguments, "completed", custom))
            case ImageBlock() | ToolResultBlock() | OpaqueBlock():
                log.debug("response.block_dropped", block=type(block).__name__, target="openai_responses")
            case _:
                assert_never(block)
    close_message()
    return items


def mark_incomplete(items: list[OutputItem]) -> None:
    """The last item of a response cut short is ``incomplete`` (messages and calls have a status)."""
    if items and isinstance(items[-1], MessageItem | FunctionCallItem | CustomToolCallItem):
        items[-1].status = "incomplete"


def from_ir(response: ChatResponse, call: ResponsesCall, record: RequestRecord) -> Response:
    """The Response for an upstream's answer to ``call``."""
    items = output_items(response.content, record.upstream_protocol, call.custom_tools)
    details = incomplete_details(response.stop_reason)
    if details is not None:
        mark_incomplete(items)
    return msgspec.structs.replace(
        call.head,
        status="completed" if details is None else "incomplete",
        completed_at=int(time.time()) if details is None else None,
        incomplete_details=details,
        model=record.alias or response.model or call.head.model,
        output=items,
        usage=wire_usage(response.usage),
    )
