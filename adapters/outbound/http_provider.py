"""The skeleton every HTTP provider kind shares.

A kind's provider subclasses ``HttpProvider`` and keeps only what its protocol decides: its
URLs and headers, how a request becomes a body, how an answer (or a stream's frames) becomes IR,
how its error bodies read. The skeleton does the rest the same way for every kind:

* the key check: a provider whose ``api_key`` named an unset variable raises ``CONFIGURATION``
  naming the variable, before anything is built or sent;
* headers: the kind's own, with the configured extra headers over them (names lower-cased);
  no client header is ever forwarded unless the kind chooses one;
* the body: built on the event loop, or for a large request on the heavy-work thread
  (``domain.offload``);
* the answer: a status other than a success becomes a ``GatewayError`` by the one upstream error
  policy (``errors.py``), fed the kind's error-body parser; a success is parsed by the kind;
* every ``GatewayError`` leaving ``post`` (an error answer, a transport failure, an unreadable
  body) has passed the scrubber. For a stream, ``frames`` raises the same errors inside the
  kind's stream parser, which scrubs them and its in-stream error events;
* the wait: a non-streaming exchange's time on the HTTP port is added to the request's record
  (``upstream_wait``, what the gateway's overhead leaves out); a stream's wait is counted
  by the service and the stream guard, which see its events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from time import perf_counter
from typing import Generic, TypeVar

from adapters.outbound.errors import ParseBody, is_success, upstream_error
from adapters.outbound.http import HttpClient
from adapters.outbound.kind import S
from adapters.outbound.scrub import Scrubber
from adapters.protocols.sse import SSEFrame
from domain.errors import ErrorKind, GatewayError
from domain.ir import ChatRequest, EmbeddingRequest, EmbeddingResponse, Protocol
from domain.offload import is_large, off_loop
from domain.request_record import CURRENT

T = TypeVar("T")
BuildBody = Callable[[ChatRequest, str, S], bytes]  # (request, upstream model, settings) -> body


class HttpProvider(Generic[S]):
    """The common part of a ``ChatProvider`` over the HTTP port (see the module's docstring)."""

    name: str
    protocol: Protocol
    counts_locally: bool = False  # see ChatProvider.counts_locally

    def __init__(self, settings: S, http: HttpClient, scrub: Scrubber, parse_error: ParseBody) -> None:
        self.name = settings.name
        self.settings = settings
        self.scrub = scrub
        self._http = http
        self._parse_error = parse_error
        self._extra_headers = {name.lower(): value for name, value in settings.headers.items()}
        var = settings.missing_key_var
        self._missing_key = (
            f"Provider '{self.name}' has no API key: set {var} (environment or .env)." if var else None
        )

    def with_headers(self, own: Mapping[str, str]) -> dict[str, str]:
        """The kind's own headers with the configured extra headers over them."""
        return {**own, **self._extra_headers}

    def check_key(self) -> None:
        if self._missing_key is not None:
            raise GatewayError(ErrorKind.CONFIGURATION, self._missing_key, provider=self.name)

    async def embed(self, request: EmbeddingRequest, model: str) -> EmbeddingResponse:
        """Kinds whose API has embeddings override this; the others refuse with a 400."""
        raise GatewayError(
            ErrorKind.INVALID_REQUEST,
            f"Provider '{self.name}' speaks the {self.protocol} protocol, which has no embeddings API: "
            f"route embedding models to an OpenAI-type provider.",
            param="model",
            provider=self.name,
        )

    def error(self, status: int, headers: Mapping[str, str], body: bytes) -> GatewayError:
        """The upstream error policy's verdict on an answer that is not a success."""
        return upstream_error(status, headers, body, self.name, self._parse_error)

    async def post(
        self,
        url: str,
        headers: Mapping[str, str],
        build: BuildBody[S],
        request: ChatRequest,
        model: str,
        parse: Callable[[bytes], T],
    ) -> T:
        """POST the request's body to ``url`` and parse a successful answer's body."""
        self.check_key()
        # The body: built here, or on the heavy-work thread for a large request (no extra
        # coroutine on the usual path).
        args = (request, model, self.settings)
        body = await off_loop(build, *args) if is_large(request) else build(*args)
        return await self.post_body(url, headers, body, parse)

    async def post_body(
        self, url: str, headers: Mapping[str, str], body: bytes, parse: Callable[[bytes], T]
    ) -> T:
        """POST ``body`` (built by the caller) to ``url`` and parse a successful answer's body."""
        self.check_key()
        started = perf_counter()
        try:
            try:
                answer = await self._http.post(url, headers, body)
            finally:
                record = CURRENT.get()
                if record is not None:
                    record.upstream_wait += perf_counter() - started
            if not is_success(answer.status):
                raise self.error(answer.status, answer.headers, answer.body)
            return parse(answer.body)
        except GatewayError as exc:
            raise self.scrub.error(exc) from None

    @asynccontextmanager
    async def frames(
        self, url: str, headers: Mapping[str, str], build: BuildBody[S], request: ChatRequest, model: str
    ) -> AsyncIterator[AsyncIterator[list[SSEFrame]]]:
        """The SSE frames of a streamed answer (a read's worth at a time, see ``UpstreamStream``),
        the upstream request open while the context is: a stream parser opens it on its first
        event and closes it when it is closed."""
        self.check_key()
        args = (request, model, self.settings)
        body = await off_loop(build, *args) if is_large(request) else build(*args)
        opened = self._http.stream(url, headers, body)
        del args, request, body  # the decoded request and its body are not kept for the stream's life
        async with opened as upstream:
            if not is_success(upstream.status):
                raise self.error(upstream.status, upstream.headers, await upstream.read())
            yield upstream.frames()
