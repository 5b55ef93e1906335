"""Providers: one folder per upstream protocol, one line per kind in ``PROVIDER_KINDS``."""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from adapters.outbound.http import HttpClient
from adapters.outbound.scrub import Scrubber
from domain.ports import ChatProvider


class ProviderSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What a provider adapter needs from config, already validated and substituted."""

    name: str
    base_url: str  # OpenAI kind: includes /v1; Anthropic kind: the API root
    api_key: str | None = None  # None: send no key (local servers) or see missing_key_var
    missing_key_var: str | None = None  # set when api_key named an unset variable
    headers: dict[str, str] = {}  # extra headers sent on every request
    default_max_tokens: int = 4096  # for targets that require max_tokens when a client omits it
    anthropic_version: str = "2023-06-01"  # sent when the client did not send its own
    # OpenAI kind: the field that carries the output limit. OpenAI's reasoning models refuse
    # "max_tokens"; some older OpenAI-compatible servers know only "max_tokens".
    max_tokens_field: str = "max_completion_tokens"


# settings, the provider's pooled HTTP client, and the scrubber every error leaving it passes
ProviderFactory = Callable[[ProviderSettings, HttpClient, Scrubber], ChatProvider]


def _openai(settings: ProviderSettings, http: HttpClient, scrub: Scrubber) -> ChatProvider:
    from adapters.outbound.openai.provider import OpenAIProvider

    return OpenAIProvider(settings, http, scrub)


def _anthropic(settings: ProviderSettings, http: HttpClient, scrub: Scrubber) -> ChatProvider:
    from adapters.outbound.anthropic.provider import AnthropicProvider

    return AnthropicProvider(settings, http, scrub)


PROVIDER_KINDS: dict[str, ProviderFactory] = {
    "openai": _openai,
    "anthropic": _anthropic,
}
