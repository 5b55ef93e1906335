"""The ``anthropic`` kind's settings."""

from __future__ import annotations

from adapters.outbound.kind import ProviderSettings

DEFAULT_BASE_URL = "https://api.anthropic.com"  # the API root, without /v1


class AnthropicSettings(ProviderSettings, frozen=True, kw_only=True):
    anthropic_version: str = "2023-06-01"  # sent when the client sent no anthropic-version of its own
