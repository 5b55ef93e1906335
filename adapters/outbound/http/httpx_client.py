"""The upstream-HTTP port over httpx: one pooled ``httpx.AsyncClient`` per provider.

Choices, for the record:

* ``trust_env=True``: proxies come from the environment (``HTTPS_PROXY``, ``HTTP_PROXY``,
  ``ALL_PROXY``, ``NO_PROXY``, read when the client is built), as for every other program on a
  host behind a proxy; this is the client to choose there. httpx 0.28 reads no credentials
  from ``~/.netrc`` on its own.
* HTTP/1.1 only, no redirects followed (an API that redirects a POST is misconfigured).
* Timeouts: ``connect`` bounds the TCP/TLS connect and the wait for a free pooled connection;
  ``read`` bounds every wait for bytes (first byte included) and every socket write; ``total``
  bounds a whole non-streaming exchange (``asyncio.timeout``). Streams have no total bound.
* Parsed ``httpx.URL``s are cached per URL string: httpx parses a ``str`` URL in pure Python
  (~25 us), and a provider posts to the same two or three URLs all day.
* Response headers are ``httpx.Headers``: a case-insensitive mapping whose keys iterate
  lower-cased, so it is handed over as is.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from types import TracebackType

import httpx

from adapters.outbound.http import PoolLimits, Timeouts, UpstreamResponse
from adapters.outbound.http.errors import timed_out, unavailable, unreadable, unusable_url
from adapters.protocols.sse import split_lines
from domain.errors import GatewayError

_URL_CACHE_MAX = 64


class HttpxClient:
    """``HttpClient`` over one pooled ``httpx.AsyncClient``."""

    __slots__ = ("name", "timeouts", "_client", "_urls")

    def __init__(self, *, name: str, timeouts: Timeouts, limits: PoolLimits) -> None:
        self.name = name
        self.timeouts = timeouts
        self._urls: dict[str, httpx.URL] = {}
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(
                connect=timeouts.connect, read=timeouts.read, write=timeouts.read, pool=timeouts.connect
            ),
            limits=httpx.Limits(
                max_connections=limits.max_connections,
                max_keepalive_connections=limits.max_connections,
                keepalive_expiry=limits.keepalive_expiry,
            ),
            http1=True,
            http2=False,
            trust_env=True,
            follow_redirects=False,
        )

    def _url(self, url: str) -> httpx.URL:
        parsed = self._urls.get(url)
        if parsed is None:
            if len(self._urls) >= _URL_CACHE_MAX:
                self._urls.clear()
            try:
                parsed = httpx.URL(url)
            except httpx.InvalidURL as exc:
                raise self._bad_url(exc) from None
            self._urls[url] = parsed
        return parsed

    def _bad_url(self, exc: Exception) -> GatewayError:
        return unusable_url(self.name, exc)

    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> UpstreamResponse:
        try:
            async with asyncio.timeout(self.timeouts.total):
                response = await self._client.post(self._url(url), content=body, headers=headers)
        except TimeoutError:
            raise timed_out(self.name, self.timeouts.total) from None
        except httpx.HTTPError as exc:
            raise self._error(exc) from None
        return UpstreamResponse(response.status_code, response.headers, response.content)

    def stream(self, url: str, headers: Mapping[str, str], body: bytes) -> HttpxStream:
        return HttpxStream(self, self._url(url), headers, body)

    async def aclose(self) -> None:
        await self._client.aclose()  # idempotent; fine before first use

    def _error(self, exc: httpx.HTTPError) -> GatewayError:
        """Map an httpx exception to the gateway's taxonomy."""
        match exc:
            case httpx.ConnectTimeout() | httpx.PoolTimeout():
                return timed_out(self.name, self.timeouts.connect)
            case httpx.TimeoutException():  # read / write
                return timed_out(self.name, self.timeouts.read)
            case httpx.UnsupportedProtocol():  # no http:// or https:// in the configured URL
                return self._bad_url(exc)
            case httpx.TransportError():  # connect, read, write, protocol (server disconnected)
                return unavailable(self.name, exc)
            case _:  # decoding errors: the upstream sent something we cannot read
                return unreadable(self.name, exc)


class HttpxStream:
    """The async context manager ``HttpxClient.stream`` returns, and the open stream itself.

    ``__aenter__`` sends the request and reads the status and headers; ``__aexit__`` closes the
    response, which closes the connection when its body was not read to the end.
    """

    __slots__ = ("status", "headers", "_owner", "_url", "_request_headers", "_body", "_response")

    status: int
    headers: Mapping[str, str]

    def __init__(self, owner: HttpxClient, url: httpx.URL, headers: Mapping[str, str], body: bytes):
        self._owner = owner
        self._url = url
        self._request_headers = headers
        self._body = body
        self._response: httpx.Response | None = None

    async def __aenter__(self) -> HttpxStream:
        client = self._owner._client
        request = client.build_request("POST", self._url, content=self._body, headers=self._request_headers)
        try:
            response = await client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise self._owner._error(exc) from None
        self._response = response
        self.status = response.status_code
        self.headers = response.headers
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        response, self._response = self._response, None
        if response is not None:
            try:
                await response.aclose()
            except httpx.HTTPError:  # nothing useful to report about a connection we drop anyway
                pass

    async def read(self) -> bytes:
        assert self._response is not None, "read() outside the stream's context"
        try:
            return await self._response.aread()
        except httpx.HTTPError as exc:
            raise self._owner._error(exc) from None

    async def lines(self) -> AsyncIterator[bytes]:
        assert self._response is not None, "lines() outside the stream's context"
        buffer = bytearray()
        try:
            async for chunk in self._response.aiter_bytes():
                for line in split_lines(buffer, chunk):
                    yield line
        except httpx.HTTPError as exc:
            raise self._owner._error(exc) from None
        if buffer:  # the last line had no terminator, or ended with a lone "\r"
            yield bytes(buffer[:-1] if buffer[-1] == 0x0D else buffer)
