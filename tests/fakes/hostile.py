"""A hostile upstream: a raw-socket HTTP/1.1 server on 127.0.0.1 that answers what a broken or
malicious LLM API might, byte for byte.

Scripts (queued with ``script(...)``, first in first out; ``default`` answers the rest):

* ``EchoKey(status)``: an error answer in the protocol of the request's path (OpenAI for
  ``/v1/chat/completions``, Anthropic for ``/v1/messages``) whose message, code and param quote
  the key the request carried, whole, by prefix ("sk-proj-abc1****wxyz") and after "Bearer";
  ``stream=True`` sends it as an in-stream error frame after ``after`` normal frames.
* ``GzipBomb(inflated)``: a gzip body of about ``inflated / 1030`` bytes that inflates to
  ``inflated`` zero bytes; ``stream=True`` as an event stream.
* ``HugeHead(size)``: a header line of ``size`` bytes, sent as fast as the client reads it.
* ``HugeLine(size)``: an event stream whose first line never ends for ``size`` bytes.
* ``HugeBody(size)``: a JSON answer of ``size`` bytes.
* ``Endless(interval)``: an event stream of valid frames every ``interval`` seconds, forever.
* ``Status(status, headers)``: a bare answer (204, a redirect...).
* ``BadHeader()``: a response whose malformed header line (no colon) quotes the key.

Every answer closes the connection after it. Big answers are generated as they are written,
waiting for the client to read (``drain``), so the fake itself stays small. ``requests`` keeps
(method, path, headers) of each request; ``disconnects`` counts answers the client cut short.
"""

from __future__ import annotations

import asyncio
import struct
import threading
import zlib
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import cache

import msgspec

from tests.fakes.upstream import fixture_frames

_MiB = 1024 * 1024
_SSE_HEAD = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n{extra}\r\n"


@dataclass(frozen=True)
class EchoKey:
    status: int = 400
    stream: bool = False
    after: int = 2  # normal frames before the error frame of a stream
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GzipBomb:
    inflated: int = 1229 * _MiB
    stream: bool = False


@dataclass(frozen=True)
class HugeHead:
    size: int = 50 * _MiB


@dataclass(frozen=True)
class HugeLine:
    size: int = 50 * _MiB


@dataclass(frozen=True)
class HugeBody:
    size: int = 100 * _MiB


@dataclass(frozen=True)
class Endless:
    interval: float = 0.01


@dataclass(frozen=True)
class Status:
    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BadHeader:
    pass


Script = EchoKey | GzipBomb | HugeHead | HugeLine | HugeBody | Endless | Status | BadHeader


def quote_key(key: str) -> str:
    """The ways servers quote a key they refuse: whole, masked, and in a header."""
    return (
        f"Incorrect API key provided: {key[:12]}********{key[-4:]}. You sent {key} "
        f"(header 'authorization: Bearer {key}')."
    )


def error_body(anthropic: bool, key: str) -> bytes:
    if anthropic:
        return msgspec.json.encode(
            {"type": "error", "error": {"type": "api_error", "message": quote_key(key)}}
        )
    error = {"message": quote_key(key), "type": "invalid_request_error", "param": key, "code": key}
    return msgspec.json.encode({"error": error})


@cache
def gzip_bomb(inflated: int) -> bytes:
    """A valid gzip member of ``inflated`` zero bytes, built from one compressed MiB repeated
    (deflate blocks after a full flush do not depend on what came before)."""
    block = bytes(_MiB)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    first = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    blocks = max(1, inflated // _MiB)
    crc = 0
    for _ in range(blocks):
        crc = zlib.crc32(block, crc)
    trailer = b"\x03\x00" + struct.pack("<II", crc, (blocks * _MiB) & 0xFFFFFFFF)  # final empty block
    return first + again * (blocks - 1) + trailer


class HostileUpstream:
    def __init__(self) -> None:
        self.url = ""
        self.default: Script | None = None
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.disconnects = 0
        self._queue: deque[Script] = deque()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def script(self, *scripts: Script) -> HostileUpstream:
        self._queue.extend(scripts)
        return self

    # ---- lifecycle -------------------------------------------------------------------------
    async def __aenter__(self) -> HostileUpstream:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def start_in_thread(self) -> HostileUpstream:
        ready = threading.Event()

        def run() -> None:
            loop = self._loop = asyncio.new_event_loop()
            loop.run_until_complete(self.__aenter__())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.__aexit__())
            loop.close()

        self._thread = threading.Thread(target=run, name="hostile-upstream", daemon=True)
        self._thread.start()
        ready.wait(5)
        return self

    def stop(self) -> None:
        if self._thread is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)

    # ---- serving ---------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append((method, path, headers))
            script = self._queue.popleft() if self._queue else self.default
            key = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")
            async for data in _answer(script, path.startswith("/v1/messages"), key):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, RuntimeError):  # uvloop: "the handler is closed"
            self.disconnects += 1
        except asyncio.CancelledError:  # the fake is closing: end quietly
            pass
        finally:
            self._tasks.discard(task)
            writer.close()


def _head(status: int, headers: dict[str, str], body: bytes | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} Hostile", "connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body is not None:
        lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _answer(script: Script | None, anthropic: bool, key: str) -> AsyncIterator[bytes]:
    match script:
        case EchoKey(status, False, _, headers):
            body = error_body(anthropic, key)
            yield _head(status, {"content-type": "application/json", **headers}, body) + body
        case EchoKey(_, True, after, _):
            yield _SSE_HEAD.format(extra="").encode()
            name = "anthropic/stream_text.sse" if anthropic else "openai/stream_text_with_usage.sse"
            for frame in fixture_frames(name)[:after]:
                yield frame
            event = b"event: error\n" if anthropic else b""
            yield event + b"data: " + error_body(anthropic, key) + b"\n\n"
        case GzipBomb(inflated, stream):
            bomb = gzip_bomb(inflated)
            if stream:
                yield _SSE_HEAD.format(extra="content-encoding: gzip\r\n").encode()
            else:
                yield _head(200, {"content-type": "application/json", "content-encoding": "gzip"}, bomb)
            for start in range(0, len(bomb), 65536):
                yield bomb[start : start + 65536]
        case HugeHead(size):
            yield b"HTTP/1.1 200 OK\r\nx-padding: "
            async for piece in _filler(size, b"a"):
                yield piece
            yield b"\r\ncontent-length: 2\r\n\r\n{}"
        case HugeLine(size):
            yield _SSE_HEAD.format(extra="").encode() + b"data: "
            async for piece in _filler(size, b"x"):
                yield piece
            yield b"\n\n"
        case HugeBody(size):
            yield _head(200, {"content-type": "application/json", "content-length": str(size)})
            async for piece in _filler(size, b" "):
                yield piece
        case Endless(interval):
            name = "anthropic/stream_text.sse" if anthropic else "openai/stream_text_with_usage.sse"
            frames = fixture_frames(name)
            yield _SSE_HEAD.format(extra="").encode()
            yield frames[0] + (frames[1] if anthropic else b"")  # message_start (and the block's start)
            repeat = frames[3] if anthropic else frames[1]  # a text delta, forever
            while True:
                yield repeat
                await asyncio.sleep(interval)
        case Status(status, headers):
            yield _head(status, headers)
        case BadHeader():
            yield f"HTTP/1.1 200 OK\r\nx-echo Bearer {key}\r\ncontent-length: 2\r\n\r\n{{}}".encode("latin-1")
        case None:
            yield _head(500, {}, b"no script")


async def _filler(size: int, byte: bytes) -> AsyncIterator[bytes]:
    piece = byte * 65536
    sent = 0
    while sent < size:
        chunk = piece[: size - sent]
        sent += len(chunk)
        yield chunk
