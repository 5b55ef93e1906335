"""uvicorn's httptools protocol, with the writes of one event-loop pass sent as one and with
limits on what a client may hold.

Writes: uvicorn writes a response's status line and headers, then each body part, with a
``transport.write`` apiece, and each is a ``send()`` system call of its own: two per
non-streaming response, the most expensive thing the server does per request. Here a
connection's writes are gathered until the loop has run what was ready (``call_soon``) and go
out in one ``send()``: the head and body of a response written in one task step share one
system call, and the frames of a stream written in one pass are joined. Bytes and their order
are unchanged; a close (uvicorn closes after ``Connection: close`` responses) sends what is
pending first.

Limits (``ConnectionLimits``, from ``server.*``): a request head larger than
``max_header_bytes`` (as parsed, once the reads it came in add up to more) or with more than
``max_header_fields`` fields is answered 431; one still incomplete is refused as soon as the
reads since it began pass the limit (so at most one read more is held); a request
head not complete ``header_timeout`` seconds after the connection opened (or after its first
byte, on a kept-alive connection) is answered 408, or closed without a word when nothing of it
came; a request body of which nothing arrives for ``body_timeout`` seconds (while the server is
ready to read it) closes the connection, and the app reads a disconnect. Bytes are counted per
read, fields per parsed field, and one timer per connection watches whichever deadline is set
(re-armed only when it fires early; body reads only raise a flag), so a well-behaved request
pays a few attribute updates. At ``max_connections`` open connections, a new one makes the server close
the connection that has waited longest for a request head; when every connection has a request
in progress, the new one is answered 503 at once. Every refused connection is then read for up
to ``linger`` seconds (what it sends is dropped) before it closes, so its client reads the
answer instead of a reset. Refusals are logged as warnings, at most one a second per kind.

Disconnects: each request's scope carries ``extensions["gateway.disconnect"]``, a pair of
functions (watch, unwatch) the access-log layer uses to be called back when the connection is
lost, instead of a task per request blocked in ``receive()`` (``app/middleware.py``). The pair
and its dict are made once per connection.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any, cast

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.connections import ConnectionLimits, Registry, open_files_budget, refusal
from infrastructure.config.schema import ServerConfig

_OVERLOADED = refusal(
    503, "The gateway has too many open connections; retry shortly.", "overloaded_error",
    b"retry-after: 1\r\n",
)  # fmt: skip


class _CoalescingTransport:
    """A transport whose ``write`` calls within one loop pass reach the socket as one."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] | None = None

    def write(self, data: bytes) -> None:
        if self._pending is None:
            self._pending = [data]
            self._loop.call_soon(self._flush)
        else:
            self._pending.append(data)

    def _flush(self) -> None:
        pending, self._pending = self._pending, None
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:  # get_extra_info, pause_reading, abort, ...
        return getattr(self._transport, name)


def _coalescing(transport: asyncio.BaseTransport, loop: asyncio.AbstractEventLoop) -> asyncio.Transport:
    """``transport`` (a server's stream transport) behind a ``_CoalescingTransport``, which
    stands in for it: what it does not define itself it delegates."""
    return cast(asyncio.Transport, _CoalescingTransport(cast(asyncio.Transport, transport), loop))


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """``uvicorn.run(http=CoalescingHttpToolsProtocol)``: httptools with coalesced writes."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(_coalescing(transport, self.loop))


class _Refused(Exception):
    """Raised in a parser callback to stop parsing a request head the limits refuse."""


class GatewayHttpProtocol(CoalescingHttpToolsProtocol):
    """httptools with coalesced writes and ``ConnectionLimits``; ``gateway_protocol(server)``
    makes the factory ``uvicorn.run(http=...)`` takes."""

    def __init__(self, *args: Any, limits: ConnectionLimits = ConnectionLimits(), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self._max_head, self._max_fields = limits.max_header_bytes, limits.max_header_fields
        self.registry = Registry.of(self.server_state, self.loop)
        self._head_deadline: float | None = None  # set while a request head is awaited
        self._head_started = False  # some of that head has come
        self._head_bytes = 0  # bytes read since it began (all of the read it began in)
        self._head_slack = 0  # of which read before it began, at most: the read it began in
        self._read = 0  # bytes of the read being parsed
        self._body_deadline: float | None = None  # set while a request body is still coming
        self._body_read = False  # some of it came since the deadline was set
        self._timer: asyncio.TimerHandle | None = None  # for whichever deadline is set
        self._refusal: tuple[int, str, str] | None = None  # (status, message, event) a callback set
        self._linger_timer: asyncio.TimerHandle | None = None
        self._dropped = -1  # bytes dropped while lingering; -1: not lingering
        self._lost: Callable[[], None] | None = None  # called when the connection is lost
        self._extensions: dict[str, Any] = {"gateway.disconnect": (self._watch, self._unwatch)}  # per request

    def _watch(self, callback: Callable[[], None]) -> None:
        self._lost = callback

    def _unwatch(self, callback: Callable[[], None]) -> None:
        if self._lost == callback:
            self._lost = None

    # --- connections -------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        limits, registry = self.limits, self.registry
        if len(self.connections) >= limits.max_connections:
            victim = registry.oldest_waiting()
            if victim is None:  # every connection has a request in progress
                self.transport = _coalescing(transport, self.loop)
                registry.note(
                    "server.connection_refused", status=503, max_client_connections=limits.max_connections
                )
                self.transport.write(_OVERLOADED)
                self._linger()
                return
            victim.make_room()
        super().connection_made(transport)
        registry.waiting[self] = None
        self._await_head()

    def make_room(self) -> None:
        """Close this connection (waiting for a request head) for a new one."""
        self.registry.waiting.pop(self, None)
        self.connections.discard(self)
        self.registry.note("server.waiting_connection_closed", reason="max_client_connections")
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.registry.waiting.pop(self, None)
        if self._timer is not None:
            self._timer.cancel()
        if self._linger_timer is not None:
            self._linger_timer.cancel()
            self.registry.lingering -= 1
            self._linger_timer = None
        super().connection_lost(exc)
        lost, self._lost = self._lost, None
        if lost is not None:
            lost()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.timeout_keep_alive_task is not None:  # idle, kept alive: waits for a request
            self.registry.waiting[self] = None

    # --- the request head ------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        if self._dropped >= 0:
            self._drop(data)
            return
        self._unset_keepalive_if_required()
        self._read = read = len(data)
        counting = self._head_deadline is not None
        if counting:
            self._head_bytes += read
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError:
            if self._refusal is not None:
                self._refuse(*self._refusal)
                return
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
            return
        if self._head_deadline is not None:  # a head is awaited still, or began in this read
            if not counting:
                self._head_bytes = self._head_slack = read
            if self._head_bytes - self._head_slack > self._max_head:
                self._refuse_large_head()
            return
        cycle = self.cycle
        if cycle is not None and cycle.more_body and not cycle.response_complete:  # its body goes on
            if self._body_deadline is None:
                self._body_deadline = self.loop.time() + self.limits.body_timeout
                self._arm(self._body_deadline)
            else:
                self._body_read = True
        elif self._body_deadline is not None:
            self._body_deadline = None

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_started = True
        if self._head_deadline is None:  # a request on a kept-alive connection
            self._await_head()

    def on_header(self, name: bytes, value: bytes) -> None:
        headers = self.headers
        if len(headers) >= self._max_fields:
            self._refusal = (
                431,
                f"The request has more than {self._max_fields} header fields.",
                "server.request_head_refused",
            )  # fmt: skip
            raise _Refused
        # uvicorn's on_header, inline: this runs for every field of every request
        name = name.lower()
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        headers.append((name, value))

    def on_headers_complete(self) -> None:
        limit = self._max_head
        if (self._head_bytes > limit or self._read > limit) and self._head_size() > limit:
            self._refuse_large_head(raise_=True)
        self._head_deadline = None
        self._head_started = False
        self._head_bytes = self._head_slack = 0
        self.registry.waiting.pop(self, None)
        self.scope["extensions"] = self._extensions
        super().on_headers_complete()

    def _head_size(self) -> int:
        """The request head's size as parsed (a read may hold some of the body too)."""
        return len(self.url) + 16 + sum(len(name) + len(value) + 4 for name, value in self.headers)

    def _refuse_large_head(self, raise_: bool = False) -> None:
        self._refusal = (
            431, f"The request head is larger than {self.limits.max_header_bytes} bytes.",
            "server.request_head_refused",
        )  # fmt: skip
        if raise_:
            raise _Refused
        self._refuse(*self._refusal)

    def _await_head(self) -> None:
        self._head_deadline = self.loop.time() + self.limits.header_timeout
        self._arm(self._head_deadline)

    def _arm(self, deadline: float) -> None:
        """One timer per connection: set when none is, it re-arms itself while a deadline is."""
        if self._timer is None:
            self._timer = self.loop.call_at(deadline, self._time_up)

    def _time_up(self) -> None:
        self._timer = None
        if self._dropped >= 0 or self.transport.is_closing():
            return
        now = self.loop.time()
        if self._head_deadline is not None:
            if now < self._head_deadline:  # moved on since the timer was set
                self._arm(self._head_deadline)
            else:
                self._head_time_up()
            return
        if self._body_deadline is None:
            return
        if self._body_read or self.flow.read_paused:  # it moved, or waits for the app to read
            self._body_read = False
            self._body_deadline = now + self.limits.body_timeout
        if now < self._body_deadline:
            self._arm(self._body_deadline)
            return
        self.registry.note("server.request_body_timeout", body_timeout_seconds=self.limits.body_timeout)
        self.transport.close()  # the app reads a disconnect

    def _head_time_up(self) -> None:
        seconds = self.limits.header_timeout
        if self._head_started:
            message = f"The request head did not arrive within {seconds:g} seconds."
            self._refuse(408, message, "server.request_head_timeout")
            return
        self.registry.note(
            "server.request_head_timeout", reason="nothing was sent", header_timeout_seconds=seconds
        )
        self.transport.close()

    # --- refusing ----------------------------------------------------------------------------
    def _refuse(self, status: int, message: str, event: str) -> None:
        """Answer ``status`` and stop serving the connection. Behind a pipelined request whose
        response is still under way, nothing can be answered: that response is the last."""
        self.registry.note(event, status=status, reason=message)
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False  # uvicorn closes the connection after it
            self._head_deadline = None
            self._dropped = 0
            return
        self.transport.write(refusal(status, message, "invalid_request_error"))
        self._linger()

    def _linger(self) -> None:
        """Stop serving; drop what comes for ``limits.linger`` seconds, then close."""
        self.registry.waiting.pop(self, None)
        self._head_deadline = self._body_deadline = None
        if self.registry.lingering >= self.limits.max_connections:  # never as many as served
            self.transport.close()
            return
        self._dropped = 0
        self.registry.lingering += 1
        self._linger_timer = self.loop.call_later(self.limits.linger, self.transport.close)
        if self.transport.can_write_eof():
            self.transport.write_eof()

    def _drop(self, data: bytes) -> None:
        self._dropped += len(data)
        if self._dropped > self.limits.linger_bytes:
            self.transport.close()


def gateway_protocol(server: ServerConfig) -> Any:
    """The ``uvicorn.run(http=...)`` factory for ``server``'s limits (picklable, for workers)."""
    limits = ConnectionLimits(
        max_header_bytes=server.max_header_bytes,
        max_header_fields=server.max_header_fields,
        header_timeout=server.header_timeout_seconds,
        body_timeout=server.body_timeout_seconds,
        max_connections=open_files_budget(server.max_client_connections),
    )
    return functools.partial(GatewayHttpProtocol, limits=limits)
