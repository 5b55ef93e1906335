"""The OpenAI provider (OpenAI and any OpenAI-compatible server): HTTP only.

Bodies and parsing live in the sibling modules. Headers are built once: ``authorization:
Bearer <key>`` when a key is configured, ``content-type``, ``accept`` and the configured extra
headers (which may override the defaults). No client header is ever forwarded. Every error that
leaves the provider, and every in-stream error event, has passed the scrubber.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from adapters.outbound import ProviderSettings
from adapters.outbound.errors import is_success
from adapters.outbound.http import HttpClient
from adapters.outbound.openai.errors import map_error
from adapters.outbound.openai.request import build_body
from adapters.outbound.openai.response import parse_response
from adapters.outbound.openai.stream import parse_upstream
from adapters.outbound.openai.tokens import estimate_tokens
from adapters.outbound.scrub import NO_SECRETS, Scrubber
from domain.errors import ErrorKind, GatewayError
from domain.ir import UNSET, AnyEvent, ChatRequest, ChatResponse
from domain.offload import is_large, off_loop


class OpenAIProvider:
    protocol = "openai"
    counts_locally = True  # see ChatProvider.counts_locally

    def __init__(self, settings: ProviderSettings, http: HttpClient, scrub: Scrubber = NO_SECRETS) -> None:
        self.name = settings.name
        self._scrub = scrub
        self._settings = settings
        self._http = http
        self._url = settings.base_url.rstrip("/") + "/chat/completions"
        headers = {"content-type": "application/json", "accept": "application/json"}
        if settings.api_key:
            headers["authorization"] = f"Bearer {settings.api_key}"
        extra = {name.lower(): value for name, value in settings.headers.items()}
        self._headers: Mapping[str, str] = {**headers, **extra}
        self._stream_headers: Mapping[str, str] = {**headers, "accept": "text/event-stream", **extra}
        var = settings.missing_key_var
        self._missing_key = (
            f"Provider '{self.name}' has no API key: set {var} (environment or .env)." if var else None
        )

    def _check_key(self) -> None:
        if self._missing_key is not None:
            raise GatewayError(ErrorKind.CONFIGURATION, self._missing_key, provider=self.name)

    async def complete(self, request: ChatRequest, model: str) -> ChatResponse:
        self._check_key()
        args = (request, model, self._settings)
        body = await off_loop(build_body, *args) if is_large(request) else build_body(*args)
        try:
            answer = await self._http.post(self._url, self._headers, body)
            if not is_success(answer.status):
                raise map_error(answer.status, answer.headers, answer.body, self.name)
            # An OpenAI client gets this body as it is: read only what routing and logging need.
            native = request.native
            return parse_response(answer.body, content=native is UNSET or native.protocol != "openai")
        except GatewayError as exc:
            raise self._scrub.error(exc) from None

    def stream(self, request: ChatRequest, model: str) -> AsyncIterator[AnyEvent]:
        """The parser's generator itself: it opens the upstream request (``_lines``) on its
        first ``__anext__`` and closes it on ``aclose()``."""
        native = request.native  # an OpenAI client gets the frames as they are
        content = native is UNSET or native.protocol != "openai"
        lines = self._lines(request, model)
        return parse_upstream(lines, relay_usage=request.include_usage is True, content=content, scrub=self._scrub)

    @asynccontextmanager
    async def _lines(self, request: ChatRequest, model: str) -> AsyncIterator[AsyncIterator[bytes]]:
        self._check_key()
        args = (request, model, self._settings)
        body = await off_loop(build_body, *args) if is_large(request) else build_body(*args)
        async with self._http.stream(self._url, self._stream_headers, body) as upstream:
            if not is_success(upstream.status):
                raise map_error(upstream.status, upstream.headers, await upstream.read(), self.name)
            yield upstream.lines()

    async def count_tokens(self, request: ChatRequest, model: str) -> int:
        """A local estimate (OpenAI has no counting endpoint; see ``tokens.py``). It runs off
        the event loop: a prompt of hundreds of KB takes tens of milliseconds to estimate."""
        return await off_loop(estimate_tokens, request)
