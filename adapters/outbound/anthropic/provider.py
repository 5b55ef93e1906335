"""The Anthropic provider on the HTTP provider skeleton.

Headers: ``x-api-key`` (when configured), ``anthropic-version`` (the client's, when an Anthropic
client sent one, else the configured default), ``anthropic-beta`` (the client's, joined with a
configured one if both exist), ``content-type`` and the configured extra headers. The constant
part is built once; a request copies it only when the client sent version or beta headers.
The client's own ``x-api-key`` / ``authorization`` never reach this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

import msgspec

from adapters.outbound.anthropic.errors import parse_error_body
from adapters.outbound.anthropic.request import build_body, build_count_tokens_body
from adapters.outbound.anthropic.response import parse_response
from adapters.outbound.anthropic.settings import AnthropicSettings
from adapters.outbound.anthropic.stream import parse_upstream
from adapters.outbound.http import HttpClient
from adapters.outbound.http_provider import HttpProvider
from adapters.outbound.scrub import NO_SECRETS, Scrubber
from adapters.protocols.anthropic.response import TokenCount
from domain.errors import ErrorKind, GatewayError
from domain.ir import UNSET, ChatRequest, ChatResponse, EventStream

_decode_count = msgspec.json.Decoder(TokenCount).decode
_parse_relayed = partial(parse_response, content=False)
_VERSION = "anthropic-version"
_BETA = "anthropic-beta"


class AnthropicProvider(HttpProvider[AnthropicSettings]):
    protocol = "anthropic"
    counts_locally = False

    def __init__(self, settings: AnthropicSettings, http: HttpClient, scrub: Scrubber = NO_SECRETS) -> None:
        super().__init__(settings, http, scrub, parse_error_body)
        base = settings.base_url.rstrip("/")
        self._messages_url = f"{base}/v1/messages"
        self._count_url = f"{base}/v1/messages/count_tokens"
        own = {"content-type": "application/json", _VERSION: settings.anthropic_version}
        if settings.api_key:
            own["x-api-key"] = settings.api_key
        self._headers: Mapping[str, str] = self.with_headers(own)

    def _headers_for(self, request: ChatRequest) -> Mapping[str, str]:
        client = request.passthrough_headers
        if not client:
            return self._headers
        headers = dict(self._headers)
        version = client.get(_VERSION)
        if version:
            headers[_VERSION] = version
        beta = client.get(_BETA)
        if beta:
            configured = headers.get(_BETA)
            headers[_BETA] = f"{configured},{beta}" if configured and configured != beta else beta
        return headers

    async def complete(self, request: ChatRequest, model: str) -> ChatResponse:
        # An Anthropic client gets the body as it is: its content blocks need no converting.
        native = request.native
        parse = _parse_relayed if native is not UNSET and native.protocol == "anthropic" else parse_response
        headers = self._headers_for(request)
        return await self.post(self._messages_url, headers, build_body, request, model, parse)

    def stream(self, request: ChatRequest, model: str) -> EventStream:
        """The parser's generator itself: it opens the upstream request on its first
        ``__anext__`` and closes it on ``aclose()``."""
        frames = self.frames(self._messages_url, self._headers_for(request), build_body, request, model)
        return parse_upstream(frames, scrub=self.scrub)

    async def count_tokens(self, request: ChatRequest, model: str) -> int:
        headers = self._headers_for(request)
        return await self.post(self._count_url, headers, build_count_tokens_body, request, model, self._count)

    def _count(self, body: bytes) -> int:
        try:
            return _decode_count(body).input_tokens
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            message = f"Unreadable count_tokens answer from '{self.name}': {exc}"
            raise GatewayError(ErrorKind.PROTOCOL, message) from None
