"""The OpenAI provider (OpenAI and any OpenAI-compatible server) on the HTTP provider skeleton.

Headers, built once: ``authorization: Bearer <key>`` when a key is configured,
``content-type``, ``accept`` and the configured extra headers (which may override the
defaults). With ``responses: true``, a Responses client's request goes to ``/responses`` as it
came (``responses.py``); every other goes to ``/chat/completions``. An OpenAI client's answer
is relayed as the upstream sent it, so for it only what routing and logging need is read
(``content=False``). ``count_tokens`` is a local estimate.
"""

from __future__ import annotations

from functools import partial

from adapters.outbound.http import HttpClient
from adapters.outbound.http_provider import HttpProvider
from adapters.outbound.openai import embeddings, responses
from adapters.outbound.openai.errors import parse_error_body
from adapters.outbound.openai.request import build_body
from adapters.outbound.openai.response import parse_response
from adapters.outbound.openai.settings import OpenAISettings
from adapters.outbound.openai.stream import parse_upstream
from adapters.outbound.openai.tokens import estimate_tokens
from adapters.outbound.scrub import NO_SECRETS, Scrubber
from domain.ir import UNSET, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, EventStream
from domain.offload import off_loop

_parse_head = partial(parse_response, content=False)


def _for_openai_client(request: ChatRequest) -> bool:
    native = request.native
    return native is not UNSET and native.protocol == "openai"


class OpenAIProvider(HttpProvider[OpenAISettings]):
    protocol = "openai"
    counts_locally = True

    def __init__(self, settings: OpenAISettings, http: HttpClient, scrub: Scrubber = NO_SECRETS) -> None:
        super().__init__(settings, http, scrub, parse_error_body)
        self._url = settings.base_url.rstrip("/") + "/chat/completions"
        self._embeddings_url = settings.base_url.rstrip("/") + "/embeddings"
        self._responses_url = settings.base_url.rstrip("/") + "/responses" if settings.responses else None
        own = {"content-type": "application/json", "accept": "application/json"}
        if settings.api_key:
            own["authorization"] = f"Bearer {settings.api_key}"
        self._headers = self.with_headers(own)
        self._stream_headers = self.with_headers({**own, "accept": "text/event-stream"})

    async def complete(self, request: ChatRequest, model: str) -> ChatResponse:
        if self._responses_url is not None and responses.relays(request):
            build, parse_relayed = responses.build_body, responses.parse_response
            return await self.post(self._responses_url, self._headers, build, request, model, parse_relayed)
        parse = _parse_head if _for_openai_client(request) else parse_response
        return await self.post(self._url, self._headers, build_body, request, model, parse)

    def stream(self, request: ChatRequest, model: str) -> EventStream:
        """The parser's generator itself: it opens the upstream request on its first
        ``__anext__`` and closes it on ``aclose()``."""
        if self._responses_url is not None and responses.relays(request):
            url = self._responses_url
            return responses.parse_stream(
                self.frames(url, self._stream_headers, responses.build_body, request, model), self.scrub
            )
        frames = self.frames(self._url, self._stream_headers, build_body, request, model)
        return parse_upstream(
            frames,
            relay_usage=request.include_usage is True,
            content=not _for_openai_client(request),
            scrub=self.scrub,
        )

    async def count_tokens(self, request: ChatRequest, model: str) -> int:
        """A local estimate (OpenAI has no counting endpoint; see ``tokens.py``). It runs off
        the event loop: a prompt of hundreds of KB takes tens of milliseconds to estimate."""
        return await off_loop(estimate_tokens, request)

    async def embed(self, request: EmbeddingRequest, model: str) -> EmbeddingResponse:
        """Relayed to ``/embeddings`` as the client sent it, the model replaced."""
        body = embeddings.build_body(request, model, self.settings)
        return await self.post_body(self._embeddings_url, self._headers, body, embeddings.parse_embeddings)
