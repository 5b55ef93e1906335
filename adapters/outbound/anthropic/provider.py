"""The Anthropic provider: HTTP only; bodies and parsing live in the sibling modules.

Headers: ``x-api-key`` (when configured), ``anthropic-version`` (the client's, when an Anthropic
client sent one, else the configured default), ``anthropic-beta`` (the client's, joined with a
configured one if both exist), ``content-type`` and the configured extra headers. The constant
part is built once; a request copies it only when the client sent version or beta headers.
The client's own ``x-api-key`` / ``authorization`` never reach this module. Every error that
leaves the provider, and every in-stream error event, has passed the scrubber.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import msgspec

from adapters.outbound import ProviderSettings
from adapters.outbound.anthropic.errors import map_error
from adapters.outbound.anthropic.request import build_body, build_count_tokens_body
from adapters.outbound.anthropic.response import parse_response
from adapters.outbound.anthropic.stream import parse_upstream
from adapters.outbound.errors import is_success
from adapters.outbound.http import HttpClient
from adapters.outbound.scrub import NO_SECRETS, Scrubber
from adapters.protocols.anthropic.response import TokenCount
from domain.errors import ErrorKind, GatewayError
from domain.ir import UNSET, AnyEvent, ChatRequest, ChatResponse
from domain.offload import is_large, off_loop

_decode_count = msgspec.json.Decoder(TokenCount).decode
_VERSION = "anthropic-version"
_BETA = "anthropic-beta"


class AnthropicProvider:
    protocol = "anthropic"
    counts_locally = False  # see ChatProvider.counts_locally

    def __init__(self, settings: ProviderSettings, http: HttpClient, scrub: Scrubber = NO_SECRETS) -> None:
        self.name = settings.name
        self._scrub = scrub
        self._settings = settings
        self._http = http
        base = settings.base_url.rstrip("/")
        self._messages_url = f"{base}/v1/messages"
        self._count_url = f"{base}/v1/messages/count_tokens"
        headers = {"content-type": "application/json", _VERSION: settings.anthropic_version}
        if settings.api_key:
            headers["x-api-key"] = settings.api_key
        headers.update({name.lower(): value for name, value in settings.headers.items()})
        self._headers: Mapping[str, str] = headers

    def _check_key(self) -> None:
        var = self._settings.missing_key_var
        if var:
            raise GatewayError(
                ErrorKind.CONFIGURATION,
                f"Provider '{self.name}' has no API key: set {var} (environment or .env).",
                provider=self.name,
            )

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
        self._check_key()
        args = (request, model, self._settings)
        body = await off_loop(build_body, *args) if is_large(request) else build_body(*args)
        try:
            answer = await self._http.post(self._messages_url, self._headers_for(request), body)
            if not is_success(answer.status):
                raise map_error(answer.status, answer.headers, answer.body, self.name)
            # An Anthropic client gets this body as it is: its content blocks need no converting.
            native = request.native
            return parse_response(answer.body, content=native is UNSET or native.protocol != "anthropic")
        except GatewayError as exc:
            raise self._scrub.error(exc) from None

    def stream(self, request: ChatRequest, model: str) -> AsyncIterator[AnyEvent]:
        """The parser's generator itself: it opens the upstream request (``_lines``) on its
        first ``__anext__`` and closes it on ``aclose()``."""
        return parse_upstream(self._lines(request, model), scrub=self._scrub)

    @asynccontextmanager
    async def _lines(self, request: ChatRequest, model: str) -> AsyncIterator[AsyncIterator[bytes]]:
        self._check_key()
        args = (request, model, self._settings)
        body = await off_loop(build_body, *args) if is_large(request) else build_body(*args)
        async with self._http.stream(self._messages_url, self._headers_for(request), body) as upstream:
            if not is_success(upstream.status):
                raise map_error(upstream.status, upstream.headers, await upstream.read(), self.name)
            yield upstream.lines()

    async def count_tokens(self, request: ChatRequest, model: str) -> int:
        self._check_key()
        build, args = build_count_tokens_body, (request, model, self._settings)
        body = await off_loop(build, *args) if is_large(request) else build(*args)
        try:
            answer = await self._http.post(self._count_url, self._headers_for(request), body)
            if not is_success(answer.status):
                raise map_error(answer.status, answer.headers, answer.body, self.name)
            return _decode_count(answer.body).input_tokens
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise GatewayError(
                ErrorKind.PROTOCOL, f"Unreadable count_tokens answer from '{self.name}': {exc}"
            ) from None
        except GatewayError as exc:
            raise self._scrub.error(exc) from None
