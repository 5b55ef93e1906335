"""Stream helpers for tests: async iteration, IR events parsed from recorded SSE lines, and a
stream of events folded into the ``ChatResponse`` it describes."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable
from contextlib import nullcontext
from typing import Any

from adapters.outbound.anthropic.stream import parse_upstream as parse_anthropic
from adapters.outbound.openai.stream import parse_upstream as parse_openai
from adapters.outbound.scrub import NO_SECRETS, Scrubber
from domain.errors import ErrorKind, GatewayError
from domain.ir import (
    AnyBlock,
    AnyEvent,
    BlockDelta,
    BlockStart,
    BlockStop,
    ChatResponse,
    MessageDelta,
    MessageStart,
    MessageStop,
    Ping,
    SignatureDelta,
    StopReason,
    StreamError,
    TextBlock,
    TextDelta,
    ThinkingBlock,
    ThinkingDelta,
    ToolInputDelta,
    ToolUseBlock,
    Usage,
    merge_usage,
)
from domain.ir.arguments import tool_input
from domain.ir.base import UNSET, UnsetType
from tests.conftest import sse_lines
from tests.fakes.http_port import port_frames


async def aiter_of(items: Iterable[Any]) -> AsyncIterator[Any]:
    for item in items:
        yield item


async def collect(iterator: AsyncIterable[Any]) -> list[Any]:
    return [item async for item in iterator]


def openai_events(
    lines: Iterable[bytes],
    *,
    relay_usage: bool = False,
    content: bool = True,
    scrub: Scrubber = NO_SECRETS,
) -> AsyncIterator[AnyEvent]:
    """The OpenAI provider's parser over the lines of a chat.completion.chunk stream."""
    return parse_openai(nullcontext(port_frames(lines)), relay_usage=relay_usage, content=content, scrub=scrub)


def anthropic_events(lines: Iterable[bytes], *, scrub: Scrubber = NO_SECRETS) -> AsyncIterator[AnyEvent]:
    """The Anthropic provider's parser over the lines of a ``/v1/messages`` stream."""
    return parse_anthropic(nullcontext(port_frames(lines)), scrub=scrub)


async def parse_fixture(name: str, *, relay_usage: bool = False) -> list[AnyEvent]:
    """Every IR event the OpenAI stream parser yields for ``tests/fixtures/openai/<name>``."""
    return await parse_lines(sse_lines(f"openai/{name}"), relay_usage=relay_usage)


async def parse_lines(lines: list[bytes], *, relay_usage: bool = False) -> list[AnyEvent]:
    return await collect(openai_events(lines, relay_usage=relay_usage))


def frames_of(raw: bytes) -> list[bytes]:
    """The data of each SSE frame in ``raw`` (a fixture or an encoder's output)."""
    parts = [part for part in raw.split(b"\n\n") if part.strip() and not part.startswith(b":")]
    return [part.removeprefix(b"data: ") for part in parts]


def sse(*payloads: bytes) -> list[bytes]:
    """Lines of a stream made of ``payloads`` (each one ``data:`` frame)."""
    lines: list[bytes] = []
    for payload in payloads:
        lines += [b"data: " + payload, b""]
    return lines


async def accumulate(events: AsyncIterable[AnyEvent]) -> ChatResponse:
    """The ``ChatResponse`` a stream of IR events describes (a ``StreamError`` is raised)."""
    id_ = model = ""
    created: int | UnsetType = UNSET
    usage = Usage()
    stop_reason: StopReason | None = None
    stop_sequence: str | None = None
    starts: dict[int, AnyBlock] = {}
    parts: dict[int, list[str]] = {}
    signatures: dict[int, str] = {}
    async for event in events:
        match event:
            case MessageStart():
                id_, model, created = event.id, event.model, event.created
                usage = merge_usage(usage, event.usage)
            case BlockStart():
                starts[event.index] = event.block
                parts[event.index] = []
            case BlockDelta(delta=TextDelta(text=s) | ToolInputDelta(partial_json=s) | ThinkingDelta(thinking=s)):
                parts[event.index].append(s)
            case BlockDelta(delta=SignatureDelta(signature=sig)):
                signatures[event.index] = sig
            case BlockStop() | MessageStop() | Ping():
                pass
            case MessageDelta():
                stop_reason, stop_sequence = event.stop_reason, event.stop_sequence
                usage = merge_usage(usage, event.usage)
            case StreamError():
                raise GatewayError(ErrorKind(event.kind), event.message)
    content: list[AnyBlock] = []
    for index in sorted(starts):
        block, text = starts[index], "".join(parts[index])
        match block:
            case TextBlock():
                content.append(TextBlock(text=block.text + text))
            case ThinkingBlock():
                sig = signatures.get(index, block.signature)
                content.append(ThinkingBlock(thinking=block.thinking + text, signature=sig))
            case ToolUseBlock():
                content.append(ToolUseBlock(id=block.id, name=block.name, input=tool_input(text)[0]))
            case _:
                content.append(block)
    return ChatResponse(
        id=id_, model=model, content=content, stop_reason=stop_reason,
        stop_sequence=stop_sequence, usage=usage, created=created,
    )


def assert_grammar(events: list[AnyEvent]) -> None:
    """``MessageStart (BlockStart BlockDelta* BlockStop)* MessageDelta MessageStop``, pings
    anywhere, a ``StreamError`` only last; block indexes from 0 in the order blocks start."""
    kinds = [e for e in events if not isinstance(e, Ping)]
    assert kinds and isinstance(kinds[0], MessageStart), kinds[:1]
    if isinstance(kinds[-1], StreamError):
        body, ending = kinds[1:-1], []
    else:
        assert [type(e) for e in kinds[-2:]] == [MessageDelta, MessageStop]
        body, ending = kinds[1:-2], kinds[-2:]
    open_index, next_index = None, 0
    for event in body:
        match event:
            case BlockStart():
                assert open_index is None and event.index == next_index
                open_index, next_index = event.index, next_index + 1
            case BlockDelta():
                assert event.index == open_index
            case BlockStop():
                assert event.index == open_index
                open_index = None
            case _:
                raise AssertionError(f"{type(event).__name__} inside the message")
    assert open_index is None or not ending
