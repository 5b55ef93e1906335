"""Anthropic client -> Anthropic upstream: the client's own fields go up, only ``model`` changes."""

from __future__ import annotations

import msgspec
import pytest

from adapters.inbound.anthropic.decode import count_tokens_to_ir, to_ir
from adapters.outbound.anthropic.request import build_body, build_count_tokens_body
from adapters.outbound.anthropic.settings import AnthropicSettings
from tests.conftest import fixture_bytes

SETTINGS = AnthropicSettings(name="anthropic", base_url="https://api.anthropic.com")
FIXTURES = ["anthropic/request_every_block.json", "anthropic/request_claude_code.json"]


@pytest.mark.parametrize("name", FIXTURES)
def test_native_body_is_the_clients_body_with_the_upstream_model(name: str) -> None:
    original = msgspec.json.decode(fixture_bytes(name))
    body = build_body(to_ir(fixture_bytes(name), {}), "claude-upstream-model", SETTINGS)
    assert msgspec.json.decode(body) == {**original, "model": "claude-upstream-model"}
    assert list(msgspec.json.decode(body)) == list(original)  # top-level order kept


def test_made_up_top_level_and_nested_fields_survive_byte_for_byte() -> None:
    body = build_body(to_ir(fixture_bytes("anthropic/request_every_block.json"), {}), "m", SETTINGS)
    decoded = msgspec.json.decode(body)
    assert decoded["x_gateway_test"] == {
        "nested": [1, {"deep": True}],
        "note": "made-up field: must survive to an Anthropic upstream",
    }
    assert decoded["messages"][2]["content"][1]["x_block_extra"] == {"keep": ["me"]}
    assert decoded["service_tier"] == "auto"
    assert decoded["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral", "ttl": "5m"}
    # nested values are forwarded as the client wrote them, not re-encoded
    source = fixture_bytes("anthropic/request_every_block.json")
    start = source.index(b'"messages": [')
    end = source.index(b'\n ],\n "tools"') + 3
    assert source[start + len(b'"messages": ') : end] in body


def test_only_the_model_value_changes_in_a_compact_body() -> None:
    client = b'{"model":"alias","max_tokens":5,"messages":[{"role":"user","content":"Hi"}],"x":{"y":[1,2]}}'
    body = build_body(to_ir(client, {}), "claude-haiku-4-5", SETTINGS)
    assert body == client.replace(b'"alias"', b'"claude-haiku-4-5"')


def test_native_count_tokens_keeps_only_the_fields_that_endpoint_accepts() -> None:
    client = {
        "model": "alias",
        "max_tokens": 1024,
        "stream": True,
        "temperature": 0.5,
        "metadata": {"user_id": "u"},
        "stop_sequences": ["X"],
        "messages": [{"role": "user", "content": "Hi"}],
        "system": [{"type": "text", "text": "S", "cache_control": {"type": "ephemeral"}}],
        "tools": [{"name": "f", "input_schema": {"type": "object"}}, {"type": "web_search_20250305", "name": "web_search"}],
        "tool_choice": {"type": "auto"},
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "mcp_servers": [{"type": "url", "url": "https://mcp.example.com/sse", "name": "example"}],
        "context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]},
    }
    request = count_tokens_to_ir(msgspec.json.encode(client), {})
    body = msgspec.json.decode(build_count_tokens_body(request, "claude-sonnet-4-5", SETTINGS))
    dropped = {"max_tokens", "stream", "temperature", "metadata", "stop_sequences"}
    assert body == {k: v for k, v in client.items() if k not in dropped} | {"model": "claude-sonnet-4-5"}


def test_claude_code_round_trip_is_lossless() -> None:
    """Decode then build: what Claude Code sent is what Anthropic receives (model aside)."""
    source = fixture_bytes("anthropic/request_claude_code.json")
    first = build_body(to_ir(source, {}), "claude-sonnet-4-5-20250929", SETTINGS)
    again = build_body(to_ir(first, {}), "claude-sonnet-4-5-20250929", SETTINGS)
    assert first == again
    assert msgspec.json.decode(first) == msgspec.json.decode(source)


def test_stream_flag_follows_the_request_when_they_disagree() -> None:
    client = b'{"model":"m","max_tokens":5,"messages":[],"stream":true}'
    request = to_ir(client, {})
    assert b'"stream":true' in build_body(request, "m", SETTINGS)
    folded = msgspec.structs.replace(request, stream=False)
    assert msgspec.json.decode(build_body(folded, "m", SETTINGS)) == {"model": "m", "max_tokens": 5, "messages": []}
    streamed = msgspec.structs.replace(to_ir(b'{"model":"m","max_tokens":5,"messages":[]}', {}), stream=True)
    assert msgspec.json.decode(build_body(streamed, "m", SETTINGS))["stream"] is True
