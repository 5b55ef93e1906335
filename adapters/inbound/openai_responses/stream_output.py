"""The output of one streamed response: its items as they open, grow and close, as events.

See ``stream.py`` for the lifecycle this produces. ``StreamOutput`` holds the state; each of
its methods appends the SSE frames it makes to ``frames``, numbered by ``seq``.
"""

from __future__ import annotations

import time

import msgspec

from adapters.inbound.openai_responses.decode import ResponsesCall, new_id
from adapters.inbound.openai_responses.encode import (
    custom_input,
    failure,
    incomplete_details,
    reasoning_item,
    wire_usage,
)
from adapters.protocols.openai.responses import events as ev
from adapters.protocols.openai.responses.response import (
    CustomToolCallItem,
    FunctionCallItem,
    MessageItem,
    OutputItem,
    OutputText,
    Response,
    SummaryText,
)
from domain.ir import (
    RedactedThinkingBlock,
    SignatureDelta,
    StopReason,
    TextBlock,
    TextDelta,
    ThinkingBlock,
    ThinkingDelta,
    ToolInputDelta,
    ToolUseBlock,
    Usage,
    merge_usage,
)
from domain.request_record import RequestRecord

_encode = msgspec.json.Encoder().encode
_replace = msgspec.structs.replace
# The usual event, assembled from fragments: the item's part of it is encoded once per item.
_TEXT_DELTA = (
    b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":'
)
_TEXT_DELTA_TAIL = b',"logprobs":[]}\n\n'


TEXT = "text"  # ``open`` value of a text block: its text goes to the open message


class StreamItem:
    """An output item while it streams."""

    __slots__ = (
        "block",
        "call_id",
        "delta_head",
        "id",
        "kind",
        "name",
        "output_index",
        "parts",
        "signature",
        "stopped",
        "summary",
    )

    def __init__(self, kind: str, item_id: str, output_index: int) -> None:
        self.kind = kind  # message / function_call / custom_tool_call / reasoning
        self.id = item_id
        self.output_index = output_index
        self.parts: list[str] = []  # text, arguments or thinking, as it came
        self.stopped = kind == "message"  # a message may close as soon as another item opens
        self.summary = False  # reasoning: whether its summary part was added
        self.name = self.call_id = ""
        self.signature: str | None = None
        self.block: ThinkingBlock | RedactedThinkingBlock | None = None
        self.delta_head = (
            b',"item_id":"'
            + item_id.encode()
            + b'","output_index":'
            + str(output_index).encode()
            + b',"content_index":0,"delta":'
        )

    def snapshot(self, status: str, protocol: str | None) -> OutputItem:
        text = "".join(self.parts)
        if self.kind == "message":
            return MessageItem(id=self.id, status=status, content=[OutputText(text=text)])
        if self.kind == "function_call":
            return FunctionCallItem(
                id=self.id, status=status, arguments=text or "{}", call_id=self.call_id, name=self.name
            )
        if self.kind == "custom_tool_call":
            return CustomToolCallItem(
                id=self.id, status=status, call_id=self.call_id, input=custom_input(text), name=self.name
            )
        block = self.block
        if isinstance(block, ThinkingBlock):
            block = ThinkingBlock(thinking=text, signature=self.signature or block.signature)
        assert block is not None
        return reasoning_item(block, protocol, self.id)


class StreamOutput:
    """The state of one response's stream; each method appends the frames it produces."""

    def __init__(self, call: ResponsesCall, record: RequestRecord) -> None:
        self.call, self.record = call, record
        self.protocol = record.upstream_protocol
        self.frames: list[bytes] = []
        self.seq = 0
        self.head: Response | None = None
        self.usage = Usage()
        self.stop_reason: StopReason | None = None
        self.items: list[StreamItem] = []  # by output_index
        self.done: dict[int, OutputItem] = {}  # output_index -> the item its done event carried
        self.open: dict[int, StreamItem | str] = {}  # IR block index -> its item (or TEXT) until it stops
        self.message: StreamItem | None = None  # the message text goes to, while it is open

    def emit(self, cls: type[ev.Event], **fields: object) -> None:
        self.frames.append(ev.frame(cls(sequence_number=self.seq, **fields)))
        self.seq += 1

    def start(self, model: str, usage: Usage) -> None:
        self.head = _replace(self.call.head, model=self.record.alias or model or self.call.head.model)
        self.usage = merge_usage(self.usage, usage)
        self.emit(ev.ResponseCreated, response=self.head)
        self.emit(ev.ResponseInProgress, response=self.head)

    # --- items ----------------------------------------------------------------------------

    def add(
        self, kind: str, prefix: str, *, call_id: str = "", name: str = "", block: object = None
    ) -> StreamItem:
        """Open an item (closing the ones waiting for a successor) and announce it."""
        for pending in [i for i in self.items if i.stopped and i.output_index not in self.done]:
            self.close(pending, "completed")
        item = StreamItem(kind, new_id(prefix), len(self.items))
        item.call_id, item.name = call_id, name
        if isinstance(block, RedactedThinkingBlock):
            item.block = block
        elif isinstance(block, ThinkingBlock):
            item.block = ThinkingBlock(thinking="", signature=block.signature)
        self.items.append(item)
        self.emit(
            ev.OutputItemAdded,
            output_index=item.output_index,
            item=item.snapshot("in_progress", self.protocol),
        )
        return item

    def block_start(self, index: int, block: object) -> None:
        match block:
            case TextBlock():
                self.open[index] = TEXT
                if block.text:
                    self.text(block.text)
            case ToolUseBlock():
                kind, prefix = (
                    ("custom_tool_call", "ctc")
                    if block.name in self.call.custom_tools
                    else ("function_call", "fc")
                )
                item = self.open[index] = self.add(kind, prefix, call_id=block.id, name=block.name)
                initial = bytes(block.input)
                if initial not in (b"", b"{}"):  # arguments given whole at the start
                    self.arguments(item, initial.decode())
            case ThinkingBlock() | RedactedThinkingBlock():
                item = self.open[index] = self.add("reasoning", "rs", block=block)
                if isinstance(block, ThinkingBlock):
                    self.thinking(item, block.thinking)
            case _:  # blocks with no Responses form (an Anthropic server tool's use or result)
                pass

    def text(self, text: str) -> None:
        message = self.message
        if message is None or message.output_index in self.done:
            message = self.message = self.add("message", "msg")
            part = OutputText(text="")
            self.emit(
                ev.ContentPartAdded,
                item_id=message.id,
                output_index=message.output_index,
                content_index=0,
                part=part,
            )
        message.parts.append(text)
        self.frames.append(
            b"".join(
                (_TEXT_DELTA, str(self.seq).encode(), message.delta_head, _encode(text), _TEXT_DELTA_TAIL)
            )
        )
        self.seq += 1

    def arguments(self, item: StreamItem, fragment: str) -> None:
        item.parts.append(fragment)
        if item.kind == "custom_tool_call":  # its input text is known once its arguments are whole
            return
        self.emit(
            ev.FunctionCallArgumentsDelta, item_id=item.id, output_index=item.output_index, delta=fragment
        )

    def thinking(self, item: StreamItem, text: str) -> None:
        if not text:
            return
        if not item.summary:
            item.summary = True
            part = SummaryText(text="")
            self.emit(
                ev.ReasoningSummaryPartAdded,
                item_id=item.id,
                output_index=item.output_index,
                summary_index=0,
                part=part,
            )
        item.parts.append(text)
        self.emit(
            ev.ReasoningSummaryTextDelta,
            item_id=item.id,
            output_index=item.output_index,
            summary_index=0,
            delta=text,
        )

    def delta(self, index: int, delta: object) -> None:
        item = self.open.get(index)
        if item is None or item is TEXT:
            if item is TEXT and isinstance(delta, TextDelta) and delta.text:
                self.text(delta.text)
            return
        assert isinstance(item, StreamItem)
        if item.output_index in self.done:
            return
        match delta:
            case ToolInputDelta(partial_json=fragment) if item.kind != "reasoning":
                self.arguments(item, fragment)
            case ThinkingDelta(thinking=text) if item.kind == "reasoning":
                self.thinking(item, text)
            case SignatureDelta(signature=signature) if item.kind == "reasoning":
                item.signature = signature
            case _:
                pass

    def block_stop(self, index: int) -> None:
        item = self.open.pop(index, None)
        if not isinstance(item, StreamItem):
            return
        item.stopped = True
        if item is not self.items[-1] and item.output_index not in self.done:  # interleaved: done now
            self.close(item, "completed")

    def close(self, item: StreamItem, status: str) -> None:
        final = item.snapshot(status, self.protocol)
        where = {"item_id": item.id, "output_index": item.output_index}
        if isinstance(final, MessageItem):
            part = final.content[0]
            self.emit(ev.OutputTextDone, content_index=0, text=part.text, **where)
            self.emit(ev.ContentPartDone, content_index=0, part=part, **where)
        elif isinstance(final, FunctionCallItem):
            self.emit(ev.FunctionCallArgumentsDone, arguments=final.arguments, **where)
        elif isinstance(final, CustomToolCallItem):
            if final.input:
                self.emit(ev.CustomToolCallInputDelta, delta=final.input, **where)
            self.emit(ev.CustomToolCallInputDone, input=final.input, **where)
        elif item.summary:
            text = "".join(item.parts)
            self.emit(ev.ReasoningSummaryTextDone, summary_index=0, text=text, **where)
            self.emit(ev.ReasoningSummaryPartDone, summary_index=0, part=SummaryText(text=text), **where)
        self.emit(ev.OutputItemDone, output_index=item.output_index, item=final)
        self.done[item.output_index] = final

    # --- the end ---------------------------------------------------------------------------

    def complete(self) -> Response:
        """Close what is open (the last item ``incomplete`` if the answer was cut short)."""
        details = incomplete_details(self.stop_reason)
        last = len(self.items) - 1
        for item in self.items:
            if item.output_index not in self.done:
                cut = details is not None and item.output_index == last
                self.close(item, "incomplete" if cut else "completed")
        assert self.head is not None
        return _replace(
            self.head,
            status="completed" if details is None else "incomplete",
            completed_at=int(time.time()) if details is None else None,
            incomplete_details=details,
            output=[self.done[item.output_index] for item in self.items],
            usage=wire_usage(self.usage),
        )

    def fail(self, kind: str, message: str) -> Response:
        """The ``error`` event; the failed Response holds the items so far (open ones incomplete)."""
        error = failure(kind, message)
        self.emit(ev.Error, code=error.code, message=message, param=None)
        output = [
            self.done.get(i.output_index) or i.snapshot("incomplete", self.protocol) for i in self.items
        ]
        assert self.head is not None
        return _replace(self.head, status="failed", error=error, output=output, usage=wire_usage(self.usage))

    def final(self, response: Response) -> None:
        cls = _FINAL_EVENTS.get(response.status, ev.ResponseFailed)
        self.emit(cls, response=response)


_FINAL_EVENTS: dict[str, type[ev.Event]] = {
    "completed": ev.ResponseCompleted,
    "incomplete": ev.ResponseIncomplete,
}
