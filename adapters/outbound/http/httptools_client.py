"""The upstream-HTTP port on asyncio and httptools: a lean HTTP/1.1 client, the default.

The gateway needs little of a general HTTP client (one POST shape, JSON or SSE back, a
keep-alive pool), and on a CPU-bound worker aiohttp's generality cost about 40% of every
non-streaming request (its request and response objects, a writer task per request, multidict
headers, cookie and tracing hooks). This client does that one job with httptools (the
llhttp-based parser uvicorn uses) and ``asyncio`` transports; the connection and its pool are
in ``h1_connection`` and ``h1_pool``.

Choices, for the record:

* HTTP/1.1 only, keep-alive, TLS through ``ssl.create_default_context()`` (the system's CA
  store, as aiohttp) with ALPN ``http/1.1``. No proxies from the environment, no redirects, no
  cookies: as both other clients are configured.
* The request head is written by hand: ``Host``, ``User-Agent`` (unless given), the given
  headers, ``Content-Length``. A header name or value with a line break or NUL is refused, as is
  a URL with credentials in it.
* No ``Accept-Encoding`` is sent (LLM answers are small and this keeps CPU down); a gzip or
  deflate body that comes anyway is decoded, within the limits of ``body.py``.
* A connection the server closes while idle leaves the pool at once. A request that meets a
  connection closed as it went out fails as ``UNAVAILABLE``, as with the other clients: not
  retried here, where it would be invisible, but by the provider's retry policy.
* Timeouts as the other clients: ``connect`` bounds the wait for a pooled connection plus the
  TCP/TLS connect, ``read`` every wait for bytes, ``total`` a non-streaming exchange and
  ``stream_max`` (when set) a streaming one.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from urllib.parse import urlsplit

import httptools

from adapters.outbound.http import PoolLimits, Timeouts, UpstreamResponse
from adapters.outbound.http.body import (
    STREAM_PIECE,
    BadEncoding,
    FrameReader,
    LimitExceeded,
    ResponseLimits,
    WholeBody,
    inflater_for,
    over_limit,
    stream_too_long,
)
from adapters.outbound.http.errors import (
    closed_early,
    reason,
    timed_out,
    unavailable,
    unreachable,
    unreadable,
    unusable_url,
)
from adapters.outbound.http.h1_connection import ConnectionLost, H1Connection, UpstreamTimeout
from adapters.outbound.http.h1_pool import H1Pool, Origin
from adapters.protocols.sse import SSEFrame
from domain.errors import ErrorKind, GatewayError

USER_AGENT = "poly-llm-gateway"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_OWN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
_TransportErrors = (OSError, UpstreamTimeout, httptools.HttpParserError, LimitExceeded, BadEncoding)
_URL_CACHE_SIZE = 256
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 field names


class HttptoolsClient:
    """``HttpClient`` over a pool of httptools-parsed HTTP/1.1 connections."""

    __slots__ = ("name", "timeouts", "response_limits", "_pool", "_urls")

    def __init__(
        self, *, name: str, timeouts: Timeouts, limits: PoolLimits, response: ResponseLimits | None = None
    ) -> None:
        self.name = name
        self.timeouts = timeouts
        self.response_limits = response or ResponseLimits()
        self._pool = H1Pool(
            max_connections=limits.max_connections,
            keepalive_expiry=limits.keepalive_expiry,
            connect_timeout=timeouts.connect,
        )
        self._urls: dict[str, tuple[Origin, str]] = {}

    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> UpstreamResponse:
        conn = await self._send(url, headers, body, self.timeouts.total)
        try:
            content = await self._read_body(conn)
        except BaseException as exc:
            conn.abort()
            if isinstance(exc, _TransportErrors):
                raise self._error(exc) from None
            raise
        status, response_headers = conn.status, conn.headers
        self._pool.release(conn)
        return UpstreamResponse(status, response_headers, content)

    def stream(self, url: str, headers: Mapping[str, str], body: bytes) -> HttptoolsStream:
        return HttptoolsStream(self, url, headers, body)

    async def aclose(self) -> None:
        await self._pool.aclose()

    async def _send(
        self, url: str, headers: Mapping[str, str], body: bytes, total: float | None
    ) -> H1Connection:
        """Send the request; return its connection once the response's head has arrived."""
        if self._pool.closed:
            raise RuntimeError(f"HTTP client for provider {self.name!r} is closed")
        origin, head = self._head(url, headers, len(body))
        try:
            conn = await self._pool.acquire(origin)
        except _TransportErrors as exc:
            raise unreachable(self._error(exc)) from None
        except (ValueError, UnicodeError) as exc:  # a host the resolver refuses outright
            raise unusable_url(self.name, exc) from None
        try:
            conn.send(head, body, self.timeouts.read, total)
            await conn.wait_headers()
        except BaseException as exc:
            conn.abort()
            if isinstance(exc, _TransportErrors):
                raise self._error(exc) from None
            raise
        return conn

    async def _read_body(self, conn: H1Connection) -> bytes:
        """The whole body, decoded, within ``max_response_bytes`` (after decompression)."""
        limit = self.response_limits.max_response_bytes
        if "content-encoding" not in conn.headers:
            return await conn.read_all(limit)
        body = WholeBody(conn.headers, limit)
        while chunk := await conn.read_chunk():
            await body.add(chunk)
        return body.result()

    def _head(self, url: str, headers: Mapping[str, str], length: int) -> tuple[Origin, bytes]:
        parsed = self._urls.get(url)
        if parsed is None:
            parsed = self._parse_url(url)
        origin, start = parsed
        lines = [start]
        has_agent = False
        for name, value in headers.items():
            lowered = name.lower()
            if lowered in _OWN_HEADERS:
                continue
            if not _TOKEN.fullmatch(name):
                raise GatewayError(
                    ErrorKind.CONFIGURATION,
                    f"Provider '{self.name}' has a header whose name is not an HTTP token: {name!r}",
                    provider=self.name,
                )
            has_agent = has_agent or lowered == "user-agent"
            lines.append(f"{name}: {value}\r\n")
        if not has_agent:
            lines.append(f"User-Agent: {USER_AGENT}\r\n")
        lines.append(f"Content-Length: {length}\r\n\r\n")
        text = "".join(lines)
        # Every line ends in CRLF and holds no other CR or LF: no header can smuggle another.
        if text.count("\n") != len(lines) + 2 or text.count("\r") != len(lines) + 2 or "\0" in text:
            raise GatewayError(
                ErrorKind.CONFIGURATION,
                f"Provider '{self.name}' has a header with a line break or NUL in it",
                provider=self.name,
            )
        try:
            return origin, text.encode("latin-1")
        except UnicodeEncodeError:
            raise GatewayError(
                ErrorKind.CONFIGURATION,
                f"Provider '{self.name}' has a header that is not Latin-1 text",
                provider=self.name,
            ) from None

    def _parse_url(self, url: str) -> tuple[Origin, str]:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise unusable_url(self.name, exc) from None
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            raise unusable_url(self.name, ValueError(f"not an http(s) URL: {scheme or 'no scheme'}"))
        if not parts.hostname:
            raise unusable_url(self.name, ValueError("no host in the URL"))
        if parts.username is not None or parts.password is not None:
            raise unusable_url(
                self.name, ValueError("credentials in the URL; use the provider's api_key or headers")
            )
        host = parts.hostname
        netloc = f"[{host}]" if ":" in host else host
        if port is not None and port != _DEFAULT_PORTS[scheme]:
            netloc = f"{netloc}:{port}"
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        parsed = (
            (scheme, host, port or _DEFAULT_PORTS[scheme]),
            f"POST {target} HTTP/1.1\r\nHost: {netloc}\r\n",
        )
        if len(self._urls) >= _URL_CACHE_SIZE:
            self._urls.clear()
        self._urls[url] = parsed
        return parsed

    def _error(self, exc: BaseException, *, streaming: bool = False) -> GatewayError:
        name = self.name
        match exc:
            case UpstreamTimeout(phase="connect"):
                return timed_out(name, self.timeouts.connect)
            case UpstreamTimeout(phase="read"):
                return timed_out(name, self.timeouts.read)
            case UpstreamTimeout() if streaming and self.timeouts.stream_max is not None:
                return over_limit(name, stream_too_long(self.timeouts.stream_max))
            case UpstreamTimeout():
                return timed_out(name, self.timeouts.total)
            case LimitExceeded():
                return over_limit(name, exc)
            case ConnectionLost(answered=answered):
                return closed_early(name, answered=answered, detail=reason(exc) if str(exc) else "")
            case httptools.HttpParserError() | BadEncoding():
                return unreadable(name, exc)
            case _:  # refused, reset, DNS, TLS, the server closed the connection
                return unavailable(name, exc)


class HttptoolsStream:
    """The async context manager ``HttptoolsClient.stream`` returns, and the open stream itself.

    ``__aenter__`` sends the request and waits for the status and headers; ``__aexit__`` gives
    the connection back to the pool when the body was read to its end, and closes it otherwise.
    """

    __slots__ = ("status", "headers", "_owner", "_url", "_request_headers", "_body", "_conn")

    status: int
    headers: Mapping[str, str]

    def __init__(self, owner: HttptoolsClient, url: str, headers: Mapping[str, str], body: bytes) -> None:
        self._owner = owner
        self._url = url
        self._request_headers = headers
        self._body = body
        self._conn: H1Connection | None = None

    async def __aenter__(self) -> HttptoolsStream:
        owner = self._owner
        conn = await owner._send(self._url, self._request_headers, self._body, owner.timeouts.stream_max)
        self._body = b""  # sent: not kept for the stream's life
        self._conn = conn
        self.status = conn.status
        self.headers = conn.headers
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._owner._pool.release(conn)  # closed unless the body ended cleanly

    async def read(self) -> bytes:
        assert self._conn is not None, "read() outside the stream's context"
        try:
            return await self._owner._read_body(self._conn)
        except _TransportErrors as exc:
            raise self._owner._error(exc, streaming=True) from None

    async def frames(self) -> AsyncIterator[list[SSEFrame]]:
        conn = self._conn
        assert conn is not None, "frames() outside the stream's context"
        reader = FrameReader(self._owner.response_limits.max_sse_line_bytes)
        try:
            inflater = inflater_for(conn.headers)
            while chunk := await conn.read_chunk():
                if inflater is None:
                    if frames := reader.read(chunk):
                        yield frames
                        del frames  # handed over: not held while the next read is awaited
                    continue
                for piece in inflater.pieces(chunk, STREAM_PIECE):
                    if frames := reader.read(piece):
                        yield frames
                        del frames
                    await asyncio.sleep(0)  # a small chunk may inflate to much: let others run
            if inflater is not None and (frames := reader.read(inflater.finish())):
                yield frames
        except _TransportErrors as exc:
            raise self._owner._error(exc, streaming=True) from None
        if frames := reader.finish():
            yield frames
