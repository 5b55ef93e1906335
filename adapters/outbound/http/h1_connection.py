"""One keep-alive HTTP/1.1 client connection: an asyncio protocol around httptools' parser.

A connection carries one exchange at a time. ``send`` writes a request whose head the caller
encoded; the parser's callbacks collect the status, the headers and the body chunks (as sent:
the caller decodes a compressed body), and wake the one coroutine waiting on them
(``wait_headers``, ``read_chunk``, ``read_all``). The caller decides what happens to the
connection afterwards: back to its pool when ``reusable``, else ``abort``.

Limits: a response head over ``HEAD_LIMIT`` bytes, and a body over the limit ``read_all`` is
given, fail the exchange with ``LimitExceeded`` as soon as the bytes pass it.

Flow control: body chunks nobody has read yet are held up to ``HIGH_WATER`` bytes, then reading
from the socket pauses until the consumer catches up, so a slow client of a fast upstream cannot
grow the gateway's memory.

Timeouts cost one timer per exchange, armed at ``send`` and re-armed only when it fires:
``read`` bounds each wait for bytes (measured from the later of the wait's start and the last
bytes received; a consumer that is behind is not the upstream's fault), ``total`` the whole
exchange (or, for a stream, ``stream_max``). A failed exchange raises ``UpstreamTimeout``,
``ConnectionLost``, ``LimitExceeded`` or ``httptools.HttpParserError``; the client maps them
to the gateway's errors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

import httptools

from adapters.outbound.http.body import HEAD_LIMIT, body_too_large, head_too_large

HIGH_WATER = 256 * 1024  # unread body bytes before reading from the socket pauses


class UpstreamTimeout(Exception):
    """The upstream sent nothing for ``read`` seconds, or the exchange outlasted ``total``."""

    def __init__(self, phase: str) -> None:
        super().__init__(phase)
        self.phase = phase  # "connect", "read" or "total"


class ConnectionLost(ConnectionError):
    """The connection ended before the response did; ``answered``: after its head arrived."""

    def __init__(self, reason: str, *, answered: bool = False) -> None:
        super().__init__(reason)
        self.answered = answered


class H1Connection(asyncio.Protocol):
    __slots__ = (
        "transport", "origin", "idle_since", "reused", "received", "status", "headers", "complete",
        "error", "_loop", "_parser", "_on_lost", "_raw", "_chunks", "_buffered", "_paused",
        "_headers_done", "_until_eof", "_informational", "_keep_alive", "_head_size", "_waiter",
        "_wait_since", "_last", "_read", "_total_at", "_timer", "_busy", "_whole", "_body_limit",
    )  # fmt: skip

    def __init__(self, origin: tuple[str, str, int], on_lost: Callable[[H1Connection], None]) -> None:
        self._loop = asyncio.get_running_loop()
        self.origin = origin
        self._on_lost = on_lost
        self._parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.idle_since = 0.0
        self.reused = False  # it served an exchange before the current one
        self._busy = False
        self._timer: asyncio.TimerHandle | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False
        self._reset()

    def _reset(self) -> None:
        if self._paused:
            self._resume()
        self._whole = False  # read_all() runs: the whole body is wanted, no pausing
        self._body_limit = 0  # read_all()'s limit on the body
        self.received = 0  # response bytes of the current exchange
        self.status = 0
        self.headers: dict[str, str] = {}
        self.complete = False
        self.error: BaseException | None = None
        self._raw: list[tuple[bytes, bytes]] = []
        self._chunks: list[bytes] = []
        self._buffered = 0
        self._headers_done = False
        self._until_eof = False
        self._informational = False
        self._keep_alive = False
        self._head_size = 0  # bytes of header names and values seen
        self._wait_since = 0.0
        self._last = 0.0
        self._read = 0.0
        self._total_at: float | None = None

    # -- the exchange, driven by the client ------------------------------------------------

    @property
    def closed(self) -> bool:
        return self.transport is None or self.transport.is_closing()

    @property
    def reusable(self) -> bool:
        done = self.complete and self.error is None
        return done and self._keep_alive and not self._paused and not self.closed

    def send(self, head: bytes, body: bytes, read: float, total: float | None) -> None:
        """Write one request; the response is read with the methods below."""
        transport = self.transport
        if transport is None or transport.is_closing():
            raise ConnectionLost("the connection closed before the request was sent")
        if self._busy:
            self.reused = True
            self._reset()
        self._busy = True
        now = self._loop.time()
        self._last = self._wait_since = now
        self._read = read
        self._total_at = now + total if total is not None else None
        self._timer = self._loop.call_later(read if total is None else min(read, total), self._on_timer)
        if len(body) < 65536:
            transport.write(head + body)
        else:  # no copy of a large body (images)
            transport.write(head)
            transport.write(body)

    async def wait_headers(self) -> None:
        while not self._headers_done:
            await self._wait()

    async def read_chunk(self) -> bytes:
        """The body bytes received since the last call; ``b""`` once the body is complete."""
        while True:
            if self._chunks:
                data = self._take()
                if self._paused:
                    self._resume()
                return data
            if self.complete:
                return b""
            await self._wait()

    async def read_all(self, limit: int) -> bytes:
        """The whole body, as sent; more than ``limit`` bytes raise ``LimitExceeded`` as soon
        as they arrive (at once when the upstream announces as much)."""
        length = self.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            raise body_too_large(limit)
        self._whole = True  # the whole body is wanted: keep reading, and time out on the upstream
        self._body_limit = limit
        if self._buffered > limit:
            raise body_too_large(limit)
        if self._paused:
            self._resume()
        while not self.complete:
            await self._wait()
        return self._take()

    def _take(self) -> bytes:
        """The unread body bytes, joined, and the buffer emptied."""
        chunks = self._chunks
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self._buffered = 0
        return data

    def finish(self) -> None:
        """The exchange is over (its caller is done with it): stop its timer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def abort(self) -> None:
        self.finish()
        if self.transport is not None:
            self.transport.abort()

    async def _wait(self) -> None:
        if self.error is not None and not self.complete:
            raise self.error
        waiter = self._waiter = self._loop.create_future()
        self._wait_since = self._loop.time()
        try:
            await waiter
        finally:
            self._waiter = None
        if self.error is not None and not self.complete:
            raise self.error

    def _resume(self) -> None:
        self._paused = False
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, error: BaseException) -> None:
        if self.error is None and not self.complete:
            self.error = error
        if self.transport is not None:
            self.transport.abort()
        self._wake()

    def _on_timer(self) -> None:
        self._timer = None
        if self.complete or self.error is not None:
            return
        now = self._loop.time()
        if self._total_at is not None and now >= self._total_at:
            self._fail(UpstreamTimeout("total"))
            return
        if self._waiter is not None and (self._whole or not self._chunks):  # waiting on the upstream
            read_at = max(self._last, self._wait_since) + self._read
            if now >= read_at:
                self._fail(UpstreamTimeout("read"))
                return
        else:
            read_at = now + self._read
        if self._total_at is not None:
            read_at = min(read_at, self._total_at)
        self._timer = self._loop.call_later(read_at - now, self._on_timer)

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # create_connection makes stream transports

    def data_received(self, data: bytes) -> None:
        if not self._busy or self.complete:  # bytes nobody asked for: the connection is unusable
            self._fail(ConnectionLost("the upstream sent bytes outside of an exchange"))
            return
        self.received += len(data)
        self._last = self._loop.time()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(httptools.HttpParserError("the upstream switched protocols"))
        except httptools.HttpParserCallbackError as exc:  # raised by a callback of ours: its reason
            self._fail(exc.__context__ if isinstance(exc.__context__, Exception) else exc)
        except httptools.HttpParserError as exc:
            self._fail(exc)
        else:
            if not self._headers_done and self.received > HEAD_LIMIT:  # a head without end
                self._fail(head_too_large())

    def eof_received(self) -> bool:
        return False  # close our side too; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        if self._busy and not self.complete:
            if exc is None and self._until_eof and self.error is None:  # the end of a body sent until close
                self._end_body()
            elif self.error is None:
                reason = f"{exc}" if exc else ""
                self.error = ConnectionLost(reason, answered=self._headers_done)
        self.finish()
        self._wake()
        self._on_lost(self)

    # -- httptools callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.complete:  # a second answer to one request: stop here, the first one stands
            raise httptools.HttpParserError("the upstream sent a second response to one request")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4
        if self._head_size > HEAD_LIMIT:
            raise head_too_large()
        self._raw.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200:  # 100 Continue, 103 Early Hints: the real response follows
            self._informational = True
            self._raw.clear()
            return
        headers = self.headers
        for raw_name, raw_value in self._raw:
            name = raw_name.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        self._raw.clear()
        self.status = status
        self._keep_alive = self._parser.should_keep_alive()  # read here: llhttp resets it at the end
        self._headers_done = True
        if status not in (204, 304) and "content-length" not in headers:
            self._until_eof = "chunked" not in headers.get("transfer-encoding", "").lower()
        self._wake()

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)
        self._buffered += len(body)
        if self._whole:
            if self._buffered > self._body_limit:
                raise body_too_large(self._body_limit)
        elif self._buffered > HIGH_WATER and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        self._end_body()

    def _end_body(self) -> None:
        if self._paused:
            self._resume()
        self.complete = True
        self.finish()
        self._wake()
