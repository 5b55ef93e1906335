"""The upstream-HTTP port over httpx: one pooled ``httpx.AsyncClient`` per provider.

Choices, for the record:

* ``trust_env=True``: proxies come from the environment (``HTTPS_PROXY``, ``HTTP_PROXY``,
  ``ALL_PROXY``, ``NO_PROXY``, read when the client is built), as for every other program on a
  host behind a proxy; this is the client to choose there. httpx 0.28 reads no credentials
  from ``~/.netrc`` on its own.
* HTTP/1.1 only, no redirects followed (an API that redirects a POST is misconfigured).
* Bodies are read raw and decoded here (gzip, deflate), with the same limits as the httptools
  client (``body.py``): httpx's own decoders would inflate a whole chunk at once. h11 refuses
  a head over 100 KiB by itself; a head between 64 and 100 KiB is refused once received.
* Timeouts: ``connect`` bounds the TCP/TLS connect and the wait for a free pooled connection;
  ``read`` bounds every wait for bytes (first byte included) and every socket write; ``total``
  bounds a whole non-streaming exchange and ``stream_max`` (when set) a streaming one
  (``asyncio.timeout``).
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
from adapters.outbound.http.body import (
    HEAD_LIMIT,
    STREAM_PIECE,
    BadEncoding,
    FrameReader,
    LimitExceeded,
    ResponseLimits,
    WholeBody,
    body_too_large,
    head_too_large,
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
from adapters.protocols.sse import SSEFrame
from domain.errors import GatewayError

_URL_CACHE_MAX = 64
# h11's and httpcore's words for what an upstream did, mapped to the gateway's own.
_H11_HEAD_TOO_LONG = "Receive buffer too long"  # a head over httpcore's 100 KiB
_NO_ANSWER = "Server disconnected without sending a response"
_CUT_SHORT = "peer closed connection without sending complete message body"


class HttpxClient:
    """``HttpClient`` over one pooled ``httpx.AsyncClient``."""

    __slots__ = ("name", "timeouts", "response_limits", "_client", "_urls")

    def __init__(
        self, *, name: str, timeouts: Timeouts, limits: PoolLimits, response: ResponseLimits | None = None
    ) -> None:
        self.name = name
        self.timeouts = timeouts
        self.response_limits = response or ResponseLimits()
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
            headers={"accept-encoding": "gzip, deflate"},  # what body.py decodes
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
                raise unusable_url(self.name, exc) from None
            self._urls[url] = parsed
        return parsed

    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> UpstreamResponse:
        request = self._client.build_request("POST", self._url(url), content=body, headers=headers)
        try:
            async with asyncio.timeout(self.timeouts.total):
                response = await self._open(request)
                try:
                    content = await self._read_body(response)
                finally:
                    await response.aclose()
        except TimeoutError:
            raise timed_out(self.name, self.timeouts.total) from None
        except (httpx.HTTPError, LimitExceeded, BadEncoding) as exc:
            raise self._error(exc) from None
        return UpstreamResponse(response.status_code, response.headers, content)

    def stream(self, url: str, headers: Mapping[str, str], body: bytes) -> HttpxStream:
        return HttpxStream(self, self._url(url), headers, body)

    async def aclose(self) -> None:
        await self._client.aclose()  # idempotent; fine before first use

    async def _open(self, request: httpx.Request) -> httpx.Response:
        """Send the request; the response once its head has arrived and is within the limit."""
        response = await self._client.send(request, stream=True)
        size = len(response.reason_phrase) + 15 + sum(len(k) + len(v) + 4 for k, v in response.headers.raw)
        if size > HEAD_LIMIT:
            await response.aclose()
            raise head_too_large()
        return response

    async def _read_body(self, response: httpx.Response) -> bytes:
        limit = self.response_limits.max_response_bytes
        length = response.headers.get("content-length", "")
        if "content-encoding" not in response.headers and length.isdigit() and int(length) > limit:
            raise body_too_large(limit)
        body = WholeBody(response.headers, limit)
        async for chunk in response.aiter_raw():
            await body.add(chunk)
        return body.result()

    def _error(self, exc: Exception, *, streaming: bool = False) -> GatewayError:
        """Map an httpx exception, or a limit, to the gateway's taxonomy."""
        match exc:
            case LimitExceeded():
                return over_limit(self.name, exc)
            case BadEncoding():
                return unreadable(self.name, exc)
            case TimeoutError() if streaming and self.timeouts.stream_max is not None:
                return over_limit(self.name, stream_too_long(self.timeouts.stream_max))
            case httpx.ConnectTimeout() | httpx.PoolTimeout():
                return unreachable(timed_out(self.name, self.timeouts.connect))
            case httpx.TimeoutException():  # read / write
                return timed_out(self.name, self.timeouts.read)
            case httpx.UnsupportedProtocol():  # no http:// or https:// in the configured URL
                return unusable_url(self.name, exc)
            case httpx.ConnectError():  # refused, reset, DNS, TLS
                return unreachable(unavailable(self.name, exc))
            case httpx.RemoteProtocolError() if _H11_HEAD_TOO_LONG in str(exc):
                return over_limit(self.name, head_too_large())
            case httpx.RemoteProtocolError() if str(exc).startswith(_NO_ANSWER):
                return closed_early(self.name, answered=False)
            case httpx.RemoteProtocolError() if str(exc).startswith(_CUT_SHORT):
                return closed_early(
                    self.name, answered=True, detail=reason(exc).removeprefix(_CUT_SHORT).strip(": ()")
                )
            case httpx.RemoteProtocolError():  # the answer is not HTTP/1.1 (h11's reason, bytes cut)
                return unreadable(self.name, exc)
            case httpx.TransportError():  # read, write
                return unavailable(self.name, exc)
            case _:  # decoding errors: the upstream sent something we cannot read
                return unreadable(self.name, exc)


_StreamErrors = (httpx.HTTPError, LimitExceeded, BadEncoding, TimeoutError)


class HttpxStream:
    """The async context manager ``HttpxClient.stream`` returns, and the open stream itself.

    ``__aenter__`` sends the request and reads the status and headers; ``__aexit__`` closes the
    response, which closes the connection when its body was not read to the end. With
    ``stream_max``, every wait (the head, each chunk) ends at the stream's deadline.
    """

    __slots__ = ("status", "headers", "_owner", "_url", "_request_headers", "_body", "_response", "_deadline")

    status: int
    headers: Mapping[str, str]

    def __init__(self, owner: HttpxClient, url: httpx.URL, headers: Mapping[str, str], body: bytes):
        self._owner = owner
        self._url = url
        self._request_headers = headers
        self._body = body
        self._response: httpx.Response | None = None
        self._deadline: float | None = None

    async def __aenter__(self) -> HttpxStream:
        owner = self._owner
        request = owner._client.build_request(
            "POST", self._url, content=self._body, headers=self._request_headers
        )
        if owner.timeouts.stream_max is not None:
            self._deadline = asyncio.get_running_loop().time() + owner.timeouts.stream_max
        try:
            async with asyncio.timeout_at(self._deadline):
                response = await owner._open(request)
        except _StreamErrors as exc:
            raise owner._error(exc, streaming=True) from None
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
            async with asyncio.timeout_at(self._deadline):
                return await self._owner._read_body(self._response)
        except _StreamErrors as exc:
            raise self._owner._error(exc, streaming=True) from None

    async def frames(self) -> AsyncIterator[list[SSEFrame]]:
        response = self._response
        assert response is not None, "frames() outside the stream's context"
        reader = FrameReader(self._owner.response_limits.max_sse_line_bytes)
        try:
            inflater = inflater_for(response.headers)
            chunks = response.aiter_raw() if self._deadline is None else self._until_deadline(response)
            async for chunk in chunks:
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
        except _StreamErrors as exc:
            raise self._owner._error(exc, streaming=True) from None
        if frames := reader.finish():
            yield frames

    async def _until_deadline(self, response: httpx.Response) -> AsyncIterator[bytes]:
        raw = response.aiter_raw()
        while True:
            async with asyncio.timeout_at(self._deadline):
                chunk = await anext(raw, None)
            if chunk is None:
                return
            yield chunk
