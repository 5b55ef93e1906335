"""The ``anthropic`` provider kind: Anthropic's Messages API."""

from adapters.outbound.anthropic.provider import AnthropicProvider
from adapters.outbound.anthropic.settings import DEFAULT_BASE_URL, AnthropicSettings
from adapters.outbound.kind import ProviderKind

KIND = ProviderKind(settings=AnthropicSettings, default_base_url=DEFAULT_BASE_URL, create=AnthropicProvider)
