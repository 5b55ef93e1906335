"""The ``openai`` kind's settings: OpenAI and every OpenAI-compatible server."""

from __future__ import annotations

from typing import Literal

from adapters.outbound.kind import ProviderSettings

DEFAULT_BASE_URL = "https://api.openai.com/v1"  # the API root, /v1 included


class OpenAISettings(ProviderSettings, frozen=True, kw_only=True):
    # The request field that carries the output limit. OpenAI's reasoning models refuse
    # "max_tokens"; some older OpenAI-compatible servers know only "max_tokens".
    max_tokens_field: Literal["max_completion_tokens", "max_tokens"] = "max_completion_tokens"
    # The upstream speaks the Responses API too (OpenAI itself): Responses clients' requests are
    # relayed to {base_url}/responses in that protocol instead of translated to Chat Completions.
    responses: bool = False
