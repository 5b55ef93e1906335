"""One chat.completion.chunk delta -> IR events, through the block synthesiser.

A delta's reasoning opens (or continues) a thinking block, its text and refusal a text block,
each tool-call fragment the block of its call. Which call a fragment belongs to is OpenAI's
business (``_CallKeys``); the blocks themselves are ``DeltaBlocks``'.
"""

from __future__ import annotations

from msgspec import UnsetType

from adapters.outbound.delta_blocks import DeltaBlocks
from adapters.outbound.openai.response import reasoning_of, text_of
from adapters.protocols.openai.response import Message, ToolCall
from domain.ir import AnyEvent


class _CallKeys:
    """Tells tool calls apart in a stream; keys count calls from 0 in arrival order."""

    __slots__ = ("by_index", "ids")

    def __init__(self) -> None:
        self.ids: list[str] = []  # key -> the id the upstream gave the call ("": none)
        self.by_index: dict[int, int] = {}  # upstream tool-call index -> key of its latest call

    def key(self, call: ToolCall, open_key: object) -> int:
        """The key of the call a fragment belongs to.

        A fragment belongs to the call of its ``index``, unless it brings a new ``id``: some
        OpenAI-compatible servers (Gemini's) send every parallel call at index 0, each with its
        own id. Without an index (legacy function_call, a few servers) a new id starts a new call.
        """
        if isinstance(call.index, int):
            key = self.by_index.get(call.index)
            if key is None or (call.id and self.ids[key] and call.id != self.ids[key]):
                key = self.by_index[call.index] = self._new(call)
            return key
        if isinstance(open_key, int) and (not call.id or call.id == self.ids[open_key]):
            return open_key
        return self._new(call)

    def _new(self, call: ToolCall) -> int:
        self.ids.append(call.id or "")
        return len(self.ids) - 1


class ChunkDeltas:
    """The IR blocks of one stream's choice 0."""

    __slots__ = ("_keys", "blocks")

    def __init__(self) -> None:
        self.blocks = DeltaBlocks()
        self._keys = _CallKeys()

    def add(self, delta: Message, out: list[AnyEvent]) -> None:
        blocks = self.blocks
        if thinking := reasoning_of(delta):
            blocks.thinking(thinking, out)
        text = text_of(delta.content)
        if delta.refusal:
            text += delta.refusal
        if text:
            blocks.text(text, out)
        for call in delta.tool_calls or ():
            self._tool(call, out)
        if delta.function_call:
            self._tool(ToolCall(function=delta.function_call), out)

    def _tool(self, call: ToolCall, out: list[AnyEvent]) -> None:
        function = call.function or None
        key = self._keys.key(call, self.blocks.open_tool)
        name, arguments = (_text(function.name), _text(function.arguments)) if function else (None, None)
        self.blocks.tool(key, _text(call.id), name, arguments, out)


def _text(value: str | None | UnsetType) -> str | None:
    return value if isinstance(value, str) else None
