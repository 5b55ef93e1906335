"""A pool of keep-alive HTTP/1.1 connections for one provider, keyed by origin.

Idle connections are reused most recent first (the one least likely to have been closed by the
server); one idle longer than ``keepalive_expiry`` is closed instead of reused, and one the server
closes while idle leaves the pool at once. At most ``max_connections`` are open at a time, idle
ones included: a request beyond that waits for one to be freed, within the connect timeout, and
an idle connection to another origin is closed to make room.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque

from adapters.outbound.http.h1_connection import H1Connection, UpstreamTimeout

Origin = tuple[str, str, int]  # scheme, host, port


class H1Pool:
    def __init__(self, *, max_connections: int, keepalive_expiry: float, connect_timeout: float) -> None:
        self._max = max_connections
        self._expiry = keepalive_expiry
        self._connect_timeout = connect_timeout
        self._idle: dict[Origin, list[H1Connection]] = {}
        self._open: set[H1Connection] = set()
        self._connecting = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._tls: ssl.SSLContext | None = None
        self.closed = False

    async def acquire(self, origin: Origin) -> H1Connection:
        """An idle connection to ``origin``, else a new one. Raises ``UpstreamTimeout("connect")``
        or the ``OSError`` of a failed connect."""
        return self._take_idle(origin) or await self._connect(origin)

    def release(self, conn: H1Connection) -> None:
        """Take back a connection after its exchange: kept when reusable, else closed."""
        conn.finish()
        if conn.reusable and not self.closed:
            conn.idle_since = asyncio.get_running_loop().time()
            self._idle.setdefault(conn.origin, []).append(conn)
            self._wake_one()
        else:
            self._discard(conn)

    async def aclose(self) -> None:
        self.closed = True
        for conn in list(self._open):
            conn.abort()
        self._idle.clear()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    # -- internals ------------------------------------------------------------------------

    async def _connect(self, origin: Origin) -> H1Connection:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._connect_timeout
        try:
            async with asyncio.timeout_at(deadline):
                while len(self._open) + self._connecting >= self._max:
                    if not self._close_an_idle_one():
                        waiter = loop.create_future()
                        self._waiters.append(waiter)
                        try:
                            await waiter
                        except BaseException:
                            if waiter in self._waiters:
                                self._waiters.remove(waiter)
                            elif waiter.done() and not waiter.cancelled():
                                self._wake_one()  # woken, then cancelled: pass the turn on
                            raise
                    if self.closed:
                        raise ConnectionError("the HTTP client is closed")
                    if conn := self._take_idle(origin):  # one came back meanwhile
                        return conn
                self._connecting += 1
                connected = False
                try:
                    scheme, host, port = origin
                    _, conn = await loop.create_connection(
                        lambda: H1Connection(origin, self._lost),
                        host,
                        port,
                        ssl=self._tls_context() if scheme == "https" else None,
                    )
                    connected = True
                finally:
                    self._connecting -= 1
                    if not connected:  # failed or cancelled: its slot is free for a waiter
                        self._wake_one()
        except TimeoutError:
            raise UpstreamTimeout("connect") from None
        self._open.add(conn)
        return conn

    def _take_idle(self, origin: Origin) -> H1Connection | None:
        """The most recently used idle connection to ``origin`` that is still good."""
        idle = self._idle.get(origin)
        if idle:
            now = asyncio.get_running_loop().time()
            while idle:
                conn = idle.pop()
                if now - conn.idle_since <= self._expiry and not conn.closed:
                    return conn
                self._discard(conn)
        return None

    def _close_an_idle_one(self) -> bool:
        for idle in self._idle.values():
            if idle:
                self._discard(idle.pop(0))  # the oldest
                return True
        return False

    def _discard(self, conn: H1Connection) -> None:
        conn.abort()
        self._open.discard(conn)
        self._wake_one()

    def _lost(self, conn: H1Connection) -> None:
        self._open.discard(conn)
        idle = self._idle.get(conn.origin)
        if idle and conn in idle:
            idle.remove(conn)
        self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            context = ssl.create_default_context()
            context.set_alpn_protocols(["http/1.1"])
            self._tls = context
        return self._tls
