"""The upstream-HTTP port over aiohttp: one pooled ``aiohttp.ClientSession`` per provider.

Choices, for the record:

* The session and its ``TCPConnector`` are created on first use, inside the running loop (the
  container may build the client before the loop exists). ``aclose()`` is safe before first use
  and twice; a closed client refuses further requests.
* ``trust_env=False`` (aiohttp's default, as for the httpx client): no proxies or netrc taken
  from the environment. No cookies (``DummyCookieJar``), no ``raise_for_status``, no redirects.
* Timeouts: ``connect`` bounds the wait for a pooled connection plus the TCP/TLS connect;
  ``sock_read`` = ``read`` bounds every wait for bytes (first byte included); a non-streaming
  exchange also has ``total``, a stream has none.
* ``auto_decompress`` stays on (aiohttp advertises only the encodings it can decode); the
  needless auto header ``Accept: */*`` is skipped.
* Lines are cut by ``adapters.protocols.sse.split_lines`` from ``readany()`` chunks rather than
  by aiohttp's line iteration, which keeps ``\\n`` on each line, knows nothing of a lone ``\\r``
  and refuses lines longer than its buffer (a data line can carry a whole base64 image).
* Response headers are a thin lower-casing view over aiohttp's case-insensitive
  ``CIMultiDictProxy`` (cheaper than copying them into a dict on every response).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING

import aiohttp

from adapters.outbound.http import PoolLimits, Timeouts, UpstreamResponse
from adapters.outbound.http.errors import timed_out, unavailable, unreachable, unreadable, unusable_url
from adapters.protocols.sse import split_lines
from domain.errors import GatewayError

if TYPE_CHECKING:
    from multidict import CIMultiDictProxy

_DNS_CACHE_TTL = 60.0
_SKIP_AUTO_HEADERS = ("Accept",)
# userinfo, path and query of any URL an exception message carries: they may hold secrets.
_TransportErrors = (aiohttp.ClientError, TimeoutError, OSError)


class LowerHeaders(Mapping[str, str]):
    """Read-only view of response headers: case-insensitive lookups, lower-case names."""

    __slots__ = ("_headers",)

    def __init__(self, headers: CIMultiDictProxy[str]) -> None:
        self._headers = headers

    def __getitem__(self, name: str) -> str:
        return self._headers[name]

    def __contains__(self, name: object) -> bool:
        return name in self._headers

    def __iter__(self) -> Iterator[str]:
        return (name.lower() for name in self._headers)

    def __len__(self) -> int:
        return len(self._headers)

    def __repr__(self) -> str:
        return f"LowerHeaders({dict(self)!r})"


class AiohttpClient:
    """``HttpClient`` over one pooled ``aiohttp.ClientSession``."""

    __slots__ = ("name", "timeouts", "_limits", "_session", "_closed", "_post_timeout", "_stream_timeout")

    def __init__(self, *, name: str, timeouts: Timeouts, limits: PoolLimits) -> None:
        self.name = name
        self.timeouts = timeouts
        self._limits = limits
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        self._post_timeout = aiohttp.ClientTimeout(
            total=timeouts.total, connect=timeouts.connect, sock_read=timeouts.read
        )
        self._stream_timeout = aiohttp.ClientTimeout(
            total=None, connect=timeouts.connect, sock_read=timeouts.read
        )

    def _open(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError(f"HTTP client for provider {self.name!r} is closed")
        connector = aiohttp.TCPConnector(
            limit=self._limits.max_connections,
            keepalive_timeout=self._limits.keepalive_expiry,
            ttl_dns_cache=_DNS_CACHE_TTL,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._stream_timeout,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=_SKIP_AUTO_HEADERS,
            auto_decompress=True,
            raise_for_status=False,
            trust_env=False,
        )
        return self._session

    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> UpstreamResponse:
        session = self._session or self._open()
        try:
            async with session.post(
                url, data=body, headers=headers, timeout=self._post_timeout, allow_redirects=False
            ) as response:
                content = await response.read()
        except _TransportErrors as exc:
            raise self._error(exc) from None
        return UpstreamResponse(response.status, LowerHeaders(response.headers), content)

    def stream(self, url: str, headers: Mapping[str, str], body: bytes) -> AiohttpStream:
        return AiohttpStream(self, url, headers, body)

    async def aclose(self) -> None:
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _error(self, exc: BaseException) -> GatewayError:
        """Map an aiohttp (or socket) exception to the gateway's taxonomy."""
        name = self.name
        match exc:
            case aiohttp.ConnectionTimeoutError():
                return unreachable(timed_out(name, self.timeouts.connect))
            case aiohttp.SocketTimeoutError():
                return timed_out(name, self.timeouts.read)
            case TimeoutError():  # the total bound of a non-streaming exchange
                return timed_out(name, self.timeouts.total)
            case aiohttp.InvalidURL() | aiohttp.NonHttpUrlClientError():
                return unusable_url(name, exc)
            case aiohttp.ClientResponseError():  # the upstream's answer is not valid HTTP
                return unreadable(name, exc)
            case aiohttp.ClientConnectorError():  # refused, reset, DNS, TLS
                return unreachable(unavailable(name, exc))
            case _:  # server disconnected, payload cut short
                return unavailable(name, exc)


class AiohttpStream:
    """The async context manager ``AiohttpClient.stream`` returns, and the open stream itself.

    ``__aenter__`` sends the request and reads the status and headers; ``__aexit__`` releases
    the response: its connection goes back to the pool when the body was read to the end and
    is closed otherwise.
    """

    __slots__ = ("status", "headers", "_owner", "_url", "_request_headers", "_body", "_response")

    status: int
    headers: Mapping[str, str]

    def __init__(self, owner: AiohttpClient, url: str, headers: Mapping[str, str], body: bytes):
        self._owner = owner
        self._url = url
        self._request_headers = headers
        self._body = body
        self._response: aiohttp.ClientResponse | None = None

    async def __aenter__(self) -> AiohttpStream:
        owner = self._owner
        session = owner._session or owner._open()
        try:
            response = await session.post(
                self._url, data=self._body, headers=self._request_headers, allow_redirects=False
            )
        except _TransportErrors as exc:
            raise owner._error(exc) from None
        self._response = response
        self.status = response.status
        self.headers = LowerHeaders(response.headers)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        response, self._response = self._response, None
        if response is not None:
            response.release()

    async def read(self) -> bytes:
        assert self._response is not None, "read() outside the stream's context"
        try:
            return await self._response.read()
        except _TransportErrors as exc:
            raise self._owner._error(exc) from None

    async def lines(self) -> AsyncIterator[bytes]:
        assert self._response is not None, "lines() outside the stream's context"
        readany = self._response.content.readany
        buffer = bytearray()
        try:
            while chunk := await readany():
                for line in split_lines(buffer, chunk):
                    yield line
        except _TransportErrors as exc:
            raise self._owner._error(exc) from None
        if buffer:  # the last line had no terminator, or ended with a lone "\r"
            yield bytes(buffer[:-1] if buffer[-1] == 0x0D else buffer)
