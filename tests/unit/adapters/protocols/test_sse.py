from __future__ import annotations

from adapters.protocols.sse import SSEDecoder, SSEFrame, frame
from tests.conftest import decode_lines, sse_lines


def test_anthropic_fixture_frames_have_event_names() -> None:
    frames = decode_lines(sse_lines("anthropic/stream_text.sse"))
    assert frames[0].event == b"message_start"
    assert frames[-1].event == b"message_stop"
    assert [f.event for f in frames].count(b"content_block_delta") == 9


def test_openai_fixture_ends_with_done() -> None:
    frames = decode_lines(sse_lines("openai/stream_text_with_usage.sse"))
    assert frames[-1] == SSEFrame(None, b"[DONE]")


def test_multiline_data_comments_and_missing_final_blank_line() -> None:
    frames = decode_lines([b": keep-alive", b"event: x", b"data: a", b"data:b", b"", b"data: last"])
    assert frames == [SSEFrame(b"x", b"a\nb"), SSEFrame(None, b"last")]


def test_a_frame_split_across_reads_is_completed_by_the_next_read() -> None:
    decoder = SSEDecoder()
    assert decoder.feed([b"data: a", b"", b"event: x", b"data: b"]) == [SSEFrame(None, b"a")]
    assert decoder.feed([b"data:  c", b"id: 7", b"retry: 10", b""]) == [SSEFrame(b"x", b"b\n c")]
    assert decoder.feed([b"", b"", b"data"]) == []  # blank lines alone dispatch nothing
    assert decoder.finish() == [SSEFrame(None, b"")]
    assert decoder.finish() == []


def test_frame_encoding() -> None:
    assert frame(b"{}") == b"data: {}\n\n"
    assert frame(b"{}", b"ping") == b"event: ping\ndata: {}\n\n"
