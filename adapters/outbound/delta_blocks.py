"""IR block boundaries for an upstream stream that has none.

Some protocols (OpenAI's chat.completion.chunk, and those modelled on it) stream bare deltas:
text, reasoning and tool-call fragments simply arrive. The IR's grammar is synthesised here: a
block opens on the first non-empty fragment of a kind (text, thinking, or a new tool call) and
closes when another kind starts or the message finishes. A kind's parser tells ``DeltaBlocks``
what each fragment is; ``DeltaBlocks`` appends the IR events it makes to the list it is given.
"""

from __future__ import annotations

from collections.abc import Hashable

import structlog

from adapters.outbound.ids import new_call_id
from domain.ir import (
    AnyEvent,
    BlockDelta,
    BlockStart,
    BlockStop,
    TextBlock,
    TextDelta,
    ThinkingBlock,
    ThinkingDelta,
    ToolInputDelta,
    ToolUseBlock,
)
from domain.ir.arguments import EMPTY_OBJECT

log = structlog.get_logger(__name__)


class DeltaBlocks:
    """Which IR block is open, and the tool calls seen, for one stream."""

    __slots__ = ("next_index", "open_index", "open_kind", "open_tool", "tools")

    def __init__(self) -> None:
        self.next_index = 0
        self.open_index = -1
        self.open_kind: str | None = None  # "text" | "thinking" | "tool"
        self.open_tool: Hashable | None = None  # the key of the open tool call
        self.tools: dict[Hashable, int] = {}  # tool-call key -> block index

    @property
    def has_tools(self) -> bool:
        return bool(self.tools)

    def close(self, out: list[AnyEvent]) -> None:
        """Close the open block, if any (another kind starts, or the message finishes)."""
        if self.open_kind is not None:
            out.append(BlockStop(index=self.open_index))
            self.open_kind = self.open_tool = None

    def _open(self, kind: str, block: TextBlock | ThinkingBlock | ToolUseBlock, out: list[AnyEvent]) -> None:
        self.close(out)
        self.open_index, self.open_kind = self.next_index, kind
        self.next_index += 1
        out.append(BlockStart(index=self.open_index, block=block))

    def text(self, text: str, out: list[AnyEvent]) -> None:
        if self.open_kind != "text":
            self._open("text", TextBlock(text=""), out)
        out.append(BlockDelta(index=self.open_index, delta=TextDelta(text=text)))

    def thinking(self, text: str, out: list[AnyEvent]) -> None:
        if self.open_kind != "thinking":
            self._open("thinking", ThinkingBlock(thinking=""), out)
        out.append(BlockDelta(index=self.open_index, delta=ThinkingDelta(thinking=text)))

    def tool(
        self, key: Hashable, call_id: str | None, name: str | None, arguments: str | None, out: list[AnyEvent]
    ) -> None:
        """A fragment of the tool call ``key`` (however the stream tells calls apart): the
        first one opens the call's block (with ``call_id``, or a minted id when the upstream
        sent none), every one adds its ``arguments``. A fragment of a call whose block already
        closed is dropped with a warning: the IR cannot reopen a block."""
        if key not in self.tools:
            block = ToolUseBlock(id=call_id or new_call_id(), name=name or "", input=EMPTY_OBJECT)
            self._open("tool", block, out)
            self.tools[key], self.open_tool = self.open_index, key
        elif self.open_tool != key:
            log.warning("stream.tool_fragment_late", tool_index=key)
            return
        if arguments:
            out.append(BlockDelta(index=self.open_index, delta=ToolInputDelta(partial_json=arguments)))
