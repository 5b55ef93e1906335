"""What an upstream may send, bounded, and the body decoding both HTTP clients share.

* The response head (status line and headers): at most ``HEAD_LIMIT`` bytes.
* A whole (non-streaming) body: at most ``max_response_bytes`` **after** decompression. A gzip
  or deflate body is inflated piece by piece against that budget (``Inflater``), so a
  compression bomb costs at most the budget, never what it would inflate to.
* A stream's lines (``LineSplitter``): each at most ``max_sse_line_bytes``, found in linear
  time (each byte is searched once; a line that arrives in pieces is joined once), and grouped
  into SSE frames (``FrameReader``) a read at a time. A compressed stream is inflated in pieces
  of ``STREAM_PIECE`` bytes.
* A stream's whole duration: ``Timeouts.stream_max`` when set (enforced by each client).

A breach raises ``LimitExceeded``, whose text names the limit; ``over_limit`` makes it the
provider's ``GatewayError`` (502 to the client, in-stream once a stream has started).
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Iterator, Mapping

import msgspec

from adapters.protocols.sse import SSEDecoder, SSEFrame
from domain.errors import ErrorKind, GatewayError

KiB = 1024
MiB = 1024 * KiB
HEAD_LIMIT = 64 * KiB
STREAM_PIECE = 64 * KiB  # inflated bytes handed on at a time from a compressed stream
BODY_PIECE = 1 * MiB  # inflated bytes of a whole body between two turns of the event loop


class ResponseLimits(msgspec.Struct, frozen=True, kw_only=True):
    max_response_bytes: int = 64 * MiB  # a whole body, after decompression
    max_sse_line_bytes: int = 16 * MiB  # one line of a stream


class LimitExceeded(Exception):
    """The upstream sent more than a limit allows. The text completes "Provider 'x' ..."."""


def head_too_large() -> LimitExceeded:
    return LimitExceeded(
        f"sent a response head (status line and headers) larger than {HEAD_LIMIT // KiB} KiB"
    )


def body_too_large(limit: int) -> LimitExceeded:
    return LimitExceeded(
        f"sent a response body larger than server.max_response_bytes ({limit} bytes, after decompression)"
    )


def line_too_long(limit: int) -> LimitExceeded:
    return LimitExceeded(f"sent a stream line longer than server.max_sse_line_bytes ({limit} bytes)")


def stream_too_long(seconds: float) -> LimitExceeded:
    return LimitExceeded(f"kept a stream open longer than timeouts.stream_max ({seconds:g} s); it was cut")


def over_limit(name: str, exc: LimitExceeded) -> GatewayError:
    return GatewayError(ErrorKind.PROTOCOL, f"Provider '{name}' {exc}", provider=name)


class BadEncoding(Exception):
    """A content-encoding the gateway cannot decode, or a compressed body that is broken."""


class Inflater:
    """Incremental gzip / deflate (zlib-wrapped, or raw as some servers send it) decoding."""

    __slots__ = ("_decoder", "_raw_fallback", "_tail")

    def __init__(self, encoding: str) -> None:
        self._raw_fallback = encoding == "deflate"
        self._decoder = zlib.decompressobj(32 + zlib.MAX_WBITS)  # gzip or zlib header
        self._tail = b""

    def pieces(self, data: bytes, size: int) -> Iterator[bytes]:
        """The inflated bytes of ``data``, at most ``size`` bytes at a time."""
        while data:
            try:
                piece = self._decoder.decompress(data, size)
            except zlib.error as exc:
                if not self._raw_fallback:
                    raise BadEncoding(f"undecodable compressed body: {exc}") from None
                self._raw_fallback = False  # "deflate" without the zlib header: try raw once
                self._decoder = zlib.decompressobj(-zlib.MAX_WBITS)
                continue
            self._raw_fallback = False
            data = self._decoder.unconsumed_tail
            if piece:
                yield piece

    def finish(self) -> bytes:
        """The last bytes; the body must have ended where the compressed stream ends."""
        tail = self._decoder.flush()
        if not self._decoder.eof:
            raise BadEncoding("the compressed body ends before its end")
        return tail


def inflater_for(headers: Mapping[str, str]) -> Inflater | None:
    encoding = headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("identity", ""):
        return None
    if encoding in ("gzip", "x-gzip", "deflate"):
        return Inflater(encoding)
    raise BadEncoding(f"unsupported content-encoding {encoding[:40]!r}")


class WholeBody:
    """A whole body collected chunk by chunk, inflated when compressed, within ``limit``; the
    event loop gets a turn after every ``BODY_PIECE`` inflated."""

    __slots__ = ("_parts", "_size", "_limit", "_inflater")

    def __init__(self, headers: Mapping[str, str], limit: int) -> None:
        self._inflater = inflater_for(headers)
        self._parts: list[bytes] = []
        self._size = 0
        self._limit = limit

    async def add(self, chunk: bytes) -> None:
        inflater = self._inflater
        if inflater is None:
            self._take(chunk)
            return
        for piece in inflater.pieces(chunk, min(BODY_PIECE, self._limit - self._size + 1)):
            self._take(piece)
            await asyncio.sleep(0)

    def _take(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._limit:
            raise body_too_large(self._limit)
        self._parts.append(data)

    def result(self) -> bytes:
        if self._inflater is not None:
            self._take(self._inflater.finish())
        parts = self._parts
        return parts[0] if len(parts) == 1 else b"".join(parts)


class LineSplitter:
    """Bytes in, complete lines out, terminators (``\\n``, ``\\r\\n``, ``\\r``) stripped.

    Linear time: each chunk is searched once, and the pieces of a line that spans chunks are
    joined once, when its end arrives. A line whose bytes pass ``limit`` raises
    ``LimitExceeded`` as soon as they do, so a line without end costs at most ``limit``.
    """

    __slots__ = ("_parts", "_held", "_limit", "_after_cr")

    def __init__(self, limit: int) -> None:
        self._parts: list[bytes] = []  # the unfinished line, in pieces
        self._held = 0
        self._limit = limit
        self._after_cr = False  # the last chunk ended in "\r": a "\n" next is part of it

    def feed(self, chunk: bytes) -> list[bytes]:
        if self._after_cr:
            self._after_cr = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        if b"\r" in chunk:
            self._after_cr = chunk[-1:] == b"\r"
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        end = chunk.rfind(b"\n")
        if end < 0:
            if chunk:
                self._hold(chunk)
            return []
        lines = chunk[:end].split(b"\n")
        if self._parts:
            self._hold(lines[0])
            lines[0] = b"".join(self._parts)
            self._parts.clear()
        self._held = 0
        if len(chunk) > self._limit and max(map(len, lines)) > self._limit:
            raise line_too_long(self._limit)
        rest = chunk[end + 1 :]
        if rest:
            self._hold(rest)
        return lines

    def _hold(self, piece: bytes) -> None:
        self._held += len(piece)
        if self._held > self._limit:
            raise line_too_long(self._limit)
        self._parts.append(piece)

    def rest(self) -> bytes | None:
        """The last line, when the body ended without a terminator after it."""
        if not self._parts:
            return None
        line = b"".join(self._parts)
        self._parts.clear()
        self._held = 0
        return line


class FrameReader(SSEDecoder):
    """A stream's body in, its SSE frames out: the lines bounded by ``LineSplitter``, grouped
    by the ``SSEDecoder`` it is, a read at a time (one call per read, no generator hop per line;
    one object less held per open stream than a decoder beside it)."""

    __slots__ = ("_splitter",)

    def __init__(self, max_line: int) -> None:
        super().__init__()
        self._splitter = LineSplitter(max_line)

    def read(self, chunk: bytes) -> list[SSEFrame]:
        """The frames that ``chunk``, the next bytes of the body, completes."""
        return self.feed(self._splitter.feed(chunk))

    def finish(self) -> list[SSEFrame]:
        """The frame the body's end completes (its last line may have no terminator)."""
        last = self._splitter.rest()
        return self.feed((last, b"") if last is not None else (b"",))
