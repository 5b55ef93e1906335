"""OpenAI's temperature goes to 2, Anthropic's to 1: a higher one is clamped, not refused."""

from __future__ import annotations

import msgspec

from adapters.inbound.openai.decode import to_ir
from adapters.outbound.anthropic.request import build_body
from adapters.outbound.anthropic.settings import AnthropicSettings

SETTINGS = AnthropicSettings(name="anthropic", base_url="http://x")


def body(temperature: float) -> dict:
    request = to_ir(msgspec.json.encode({"model": "m", "temperature": temperature,
                                         "messages": [{"role": "user", "content": "hi"}]}))
    return msgspec.json.decode(build_body(request, "claude", SETTINGS))


def test_temperature_above_one_is_sent_as_one() -> None:
    assert body(1.7)["temperature"] == 1.0


def test_temperature_within_range_is_kept() -> None:
    assert body(0.3)["temperature"] == 0.3
