"""Native path: an OpenAI client's body forwarded to an OpenAI upstream, model replaced."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from adapters.inbound.openai.decode import to_ir
from adapters.outbound.openai.request import build_body
from adapters.outbound.openai.settings import OpenAISettings
from tests.conftest import fixture_bytes

SETTINGS = OpenAISettings(
    name="openai", base_url="https://api.openai.com/v1", max_tokens_field="max_tokens"
)


def forward(body: bytes, model: str = "gpt-4o-2024-08-06") -> dict[str, Any]:
    return msgspec.json.decode(build_body(to_ir(body), model, SETTINGS))


def test_unknown_top_level_and_nested_fields_survive_and_only_model_and_usage_change() -> None:
    body = fixture_bytes("openai/request_unknown_fields.json")
    sent = forward(body)

    expected = msgspec.json.decode(body)
    expected["model"] = "gpt-4o-2024-08-06"
    expected["stream_options"] = {"include_obfuscation": False, "include_usage": True}
    assert sent == expected


def test_body_is_not_translated_even_where_the_ir_would_differ() -> None:
    """System/developer roles, max_tokens spelling, tool argument strings: all as the client sent."""
    body = fixture_bytes("openai/request_tool_history.json")
    sent = forward(body, "gpt-4o-mini-2024-07-18")

    expected = msgspec.json.decode(body)
    expected["model"] = "gpt-4o-mini-2024-07-18"
    expected["stream_options"] = {"include_usage": True}  # the client's false is overridden
    assert sent == expected


def test_non_streaming_body_keeps_its_stream_options_untouched() -> None:
    body = b'{"model":"a","messages":[{"role":"user","content":"Hi"}],'
    body += b'"stream_options":{"include_usage":false}}'
    assert forward(body) == {
        "model": "gpt-4o-2024-08-06",
        "messages": [{"role": "user", "content": "Hi"}],
        "stream_options": {"include_usage": False},
    }


@pytest.mark.parametrize(
    ("stream_options", "expected"),
    [
        pytest.param(None, {"include_usage": True}, id="absent"),
        pytest.param(b"null", {"include_usage": True}, id="null"),
        pytest.param(b'{"include_usage":false}', {"include_usage": True}, id="false-forced"),
        pytest.param(
            b'{"include_obfuscation":false,"x":[1]}',
            {"include_obfuscation": False, "x": [1], "include_usage": True},
            id="other-keys-kept",
        ),
    ],
)
def test_streaming_forces_include_usage(stream_options: bytes | None, expected: dict[str, Any]) -> None:
    body = b'{"model":"a","messages":[{"role":"user","content":"Hi"}],"stream":true'
    if stream_options is not None:
        body += b',"stream_options":' + stream_options
    assert forward(body + b"}")["stream_options"] == expected


def test_nested_values_are_forwarded_byte_for_byte() -> None:
    messages = b'[{"role":"user","content":[{"type":"text","text":"caf\\u00e9 \xf0\x9f\x98\x80",'
    messages += b'"cache":{"a":1.50}}]}]'
    body = b'{"model":"a","messages":' + messages + b',"extra": {"k" : [1e3, 2.0E-2]}}'
    sent = build_body(to_ir(body), "gpt-4o", SETTINGS)
    assert b'"messages":' + messages in sent
    assert b'"extra":{"k" : [1e3, 2.0E-2]}' in sent
    assert sent.startswith(b'{"model":"gpt-4o",')
