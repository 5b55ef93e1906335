"""The ``openai`` provider kind: OpenAI's Chat Completions API, and every server that speaks it."""

from adapters.outbound.kind import ProviderKind
from adapters.outbound.openai.provider import OpenAIProvider
from adapters.outbound.openai.settings import DEFAULT_BASE_URL, OpenAISettings

KIND = ProviderKind(settings=OpenAISettings, default_base_url=DEFAULT_BASE_URL, create=OpenAIProvider)
