"""Wire structs of the Responses streaming events (``event: <type>`` + ``data: {...}``).

Every event carries its ``type`` first, then a ``sequence_number`` that increases by one per
event of a stream. ``frame`` writes one event as the SSE frame the API sends.
"""

from __future__ import annotations

from typing import get_args

import msgspec

from adapters.protocols.openai.responses.response import OutputItem, OutputText, Response, SummaryText


class Event(msgspec.Struct, kw_only=True, tag_field="type"):
    sequence_number: int


class ResponseCreated(Event, kw_only=True, tag="response.created"):
    response: Response


class ResponseInProgress(Event, kw_only=True, tag="response.in_progress"):
    response: Response


class ResponseCompleted(Event, kw_only=True, tag="response.completed"):
    response: Response


class ResponseIncomplete(Event, kw_only=True, tag="response.incomplete"):
    response: Response


class ResponseFailed(Event, kw_only=True, tag="response.failed"):
    response: Response


class OutputItemAdded(Event, kw_only=True, tag="response.output_item.added"):
    output_index: int
    item: OutputItem


class OutputItemDone(Event, kw_only=True, tag="response.output_item.done"):
    output_index: int
    item: OutputItem


class ContentPartAdded(Event, kw_only=True, tag="response.content_part.added"):
    item_id: str
    output_index: int
    content_index: int
    part: OutputText


class ContentPartDone(Event, kw_only=True, tag="response.content_part.done"):
    item_id: str
    output_index: int
    content_index: int
    part: OutputText


class OutputTextDelta(Event, kw_only=True, tag="response.output_text.delta"):
    item_id: str
    output_index: int
    content_index: int
    delta: str
    logprobs: list[msgspec.Raw] = []


class OutputTextDone(Event, kw_only=True, tag="response.output_text.done"):
    item_id: str
    output_index: int
    content_index: int
    text: str
    logprobs: list[msgspec.Raw] = []


class FunctionCallArgumentsDelta(Event, kw_only=True, tag="response.function_call_arguments.delta"):
    item_id: str
    output_index: int
    delta: str


class FunctionCallArgumentsDone(Event, kw_only=True, tag="response.function_call_arguments.done"):
    item_id: str
    output_index: int
    arguments: str


class CustomToolCallInputDelta(Event, kw_only=True, tag="response.custom_tool_call_input.delta"):
    item_id: str
    output_index: int
    delta: str


class CustomToolCallInputDone(Event, kw_only=True, tag="response.custom_tool_call_input.done"):
    item_id: str
    output_index: int
    input: str


class ReasoningSummaryPartAdded(Event, kw_only=True, tag="response.reasoning_summary_part.added"):
    item_id: str
    output_index: int
    summary_index: int
    part: SummaryText


class ReasoningSummaryPartDone(Event, kw_only=True, tag="response.reasoning_summary_part.done"):
    item_id: str
    output_index: int
    summary_index: int
    part: SummaryText


class ReasoningSummaryTextDelta(Event, kw_only=True, tag="response.reasoning_summary_text.delta"):
    item_id: str
    output_index: int
    summary_index: int
    delta: str


class ReasoningSummaryTextDone(Event, kw_only=True, tag="response.reasoning_summary_text.done"):
    item_id: str
    output_index: int
    summary_index: int
    text: str


class Error(Event, kw_only=True, tag="error"):
    """An error after the stream started (followed by ``response.failed``)."""

    code: str | None = None
    message: str
    param: str | None = None


AnyEvent = (
    ResponseCreated
    | ResponseInProgress
    | ResponseCompleted
    | ResponseIncomplete
    | ResponseFailed
    | OutputItemAdded
    | OutputItemDone
    | ContentPartAdded
    | ContentPartDone
    | OutputTextDelta
    | OutputTextDone
    | FunctionCallArgumentsDelta
    | FunctionCallArgumentsDone
    | CustomToolCallInputDelta
    | CustomToolCallInputDone
    | ReasoningSummaryPartAdded
    | ReasoningSummaryPartDone
    | ReasoningSummaryTextDelta
    | ReasoningSummaryTextDone
    | Error
)

_encode = msgspec.json.Encoder().encode
_PREFIX: dict[type, bytes] = {
    cls: b"event: " + str(cls.__struct_config__.tag).encode() + b"\ndata: "
    for cls in get_args(AnyEvent)
}


def frame(event: Event) -> bytes:
    """The SSE frame of ``event``: ``event: <type>``, ``data: <json>``, a blank line."""
    return _PREFIX[type(event)] + _encode(event) + b"\n\n"
