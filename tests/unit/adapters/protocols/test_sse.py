from __future__ import annotations

from collections.abc import AsyncIterator

from adapters.protocols.sse import SSEFrame, decode_sse, frame
from tests.conftest import sse_lines


async def _aiter(items: list[bytes]) -> AsyncIterator[bytes]:
    for item in items:
        yield item


async def _frames(lines: list[bytes]) -> list[SSEFrame]:
    return [f async for f in decode_sse(_aiter(lines))]


async def test_anthropic_fixture_frames_have_event_names() -> None:
    frames = await _frames(sse_lines("anthropic/stream_text.sse"))
    assert frames[0].event == b"message_start"
    assert frames[-1].event == b"message_stop"
    assert [f.event for f in frames].count(b"content_block_delta") == 9


async def test_openai_fixture_ends_with_done() -> None:
    frames = await _frames(sse_lines("openai/stream_text_with_usage.sse"))
    assert frames[-1] == SSEFrame(None, b"[DONE]")


async def test_multiline_data_comments_and_missing_final_blank_line() -> None:
    frames = await _frames([b": keep-alive", b"event: x", b"data: a", b"data:b", b"", b"data: last"])
    assert frames == [SSEFrame(b"x", b"a\nb"), SSEFrame(None, b"last")]


def test_frame_encoding() -> None:
    assert frame(b"{}") == b"data: {}\n\n"
    assert frame(b"{}", b"ping") == b"event: ping\ndata: {}\n\n"
