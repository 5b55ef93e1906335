"""The shared body handling of both HTTP clients: lines split in linear time within a limit,
whole bodies inflated piece by piece within a limit."""

from __future__ import annotations

import gzip
import time
import zlib

import pytest

from adapters.outbound.http.body import (
    BadEncoding,
    Inflater,
    LimitExceeded,
    LineSplitter,
    WholeBody,
    inflater_for,
)
from tests.conftest import fixture_bytes, sse_lines


def split(chunks: list[bytes], limit: int = 1 << 20) -> list[bytes]:
    splitter = LineSplitter(limit)
    lines = [line for chunk in chunks for line in splitter.feed(chunk)]
    last = splitter.rest()
    return lines + ([last] if last is not None else [])


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 4096])
def test_a_fixture_split_at_every_size_gives_its_lines(size: int) -> None:
    data = fixture_bytes("anthropic/stream_text.sse").replace(b"\n", b"\r\n")

    assert (
        split([data[i : i + size] for i in range(0, len(data), size)])
        == sse_lines("anthropic/stream_text.sse")[:-1]
    )


@pytest.mark.parametrize(
    ("chunks", "lines"),
    [
        ([b"data: 1\r", b"\n\r\ndata: 2\n"], [b"data: 1", b"", b"data: 2"]),  # CRLF across chunks
        ([b"a\r", b"\r", b"b\r"], [b"a", b"", b"b"]),  # lone CRs end lines
        ([b"a\r", b"\n"], [b"a"]),
        ([b"par", b"tial", b" line"], [b"partial line"]),  # no terminator: the rest, at the end
        ([b"", b"x\n", b""], [b"x"]),
        ([b"\n\n"], [b"", b""]),
    ],
)
def test_terminators(chunks: list[bytes], lines: list[bytes]) -> None:
    assert split(chunks) == lines


def test_a_line_over_the_limit_fails_as_soon_as_its_bytes_pass_it() -> None:
    splitter = LineSplitter(10)
    assert splitter.feed(b"0123456789\nabc") == [b"0123456789"]  # exactly the limit: fine

    with pytest.raises(LimitExceeded, match=r"server.max_sse_line_bytes \(10 bytes\)"):
        splitter.feed(b"12345678")  # 11 bytes held, no end yet


def test_a_long_line_inside_one_chunk_fails_too() -> None:
    with pytest.raises(LimitExceeded):
        LineSplitter(10).feed(b"ok\n" + b"x" * 11 + b"\nmore")


def test_splitting_is_linear_in_the_line_length() -> None:
    """A line without end arriving in 16 KiB pieces: 8x the bytes take about 8x the time, not
    the 64x of a splitter that copies the bytes it holds again for every piece."""

    def seconds(total: int) -> float:
        piece = b"x" * 16384
        best = float("inf")
        for _ in range(7):  # this thread's CPU time, the least of 7: other load does not count
            splitter = LineSplitter(total + 1)
            started = time.thread_time()
            for _ in range(total // len(piece)):
                splitter.feed(piece)
            splitter.feed(b"\n")
            best = min(best, time.thread_time() - started)
        return best

    small, large = seconds(2 << 20), seconds(16 << 20)

    assert large / small < 24, f"2 MiB: {small * 1000:.2f} ms, 16 MiB: {large * 1000:.2f} ms"


async def test_a_whole_body_is_inflated_within_the_limit() -> None:
    text = b'{"id":"chatcmpl-1"}' * 1000
    body = WholeBody({"content-encoding": "gzip"}, limit=len(text))
    compressed = gzip.compress(text)
    for start in range(0, len(compressed), 100):
        await body.add(compressed[start : start + 100])

    assert body.result() == text


async def test_a_compression_bomb_stops_at_the_limit_without_inflating_the_rest() -> None:
    bomb = gzip.compress(bytes(64 << 20), compresslevel=9)  # 64 MiB of zeros, about 64 KB
    body = WholeBody({"content-encoding": "gzip"}, limit=1 << 20)

    with pytest.raises(LimitExceeded, match=r"max_response_bytes \(1048576 bytes, after decompression\)"):
        await body.add(bomb)


async def test_a_plain_body_over_the_limit_fails() -> None:
    body = WholeBody({}, limit=4)
    await body.add(b"1234")

    with pytest.raises(LimitExceeded):
        await body.add(b"5")


def test_pieces_are_bounded() -> None:
    inflater = Inflater("gzip")

    pieces = list(inflater.pieces(gzip.compress(bytes(1 << 20)), 65536))

    assert len(pieces) == 16 and {len(p) for p in pieces} == {65536}
    assert inflater.finish() == b""


async def test_raw_deflate_is_accepted_as_deflate() -> None:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw = compressor.compress(b"hello") + compressor.flush()
    body = WholeBody({"content-encoding": "deflate"}, limit=100)
    await body.add(raw)

    assert body.result() == b"hello"


@pytest.mark.parametrize(
    ("headers", "message"),
    [({"content-encoding": "br"}, "unsupported content-encoding 'br'")],
)
def test_unknown_encodings_are_named(headers: dict[str, str], message: str) -> None:
    with pytest.raises(BadEncoding, match=message):
        inflater_for(headers)


async def test_a_truncated_compressed_body_is_an_error() -> None:
    body = WholeBody({"content-encoding": "gzip"}, limit=1 << 20)
    await body.add(gzip.compress(b"x" * 1000)[:-10])

    with pytest.raises(BadEncoding, match="ends before its end"):
        body.result()
