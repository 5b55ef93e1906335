"""Upstream Anthropic ``message`` bodies -> IR responses."""

from __future__ import annotations

import msgspec
import pytest

from adapters.outbound.anthropic.response import parse_response
from domain.errors import ErrorKind, GatewayError
from domain.ir import (
    NativeResponse,
    OpaqueBlock,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    Usage,
)
from tests.conftest import fixture_bytes

TEXT = (
    "Hello from the fake upstream! Unicode survives: café, naïve, 日本語, emoji 🚀🎉. Quotes "
    "\"double\" and 'single', a backslash \\ and a newline\nsecond line. The end."
)
FIXTURE_USAGE = Usage(input_tokens=31, output_tokens=19, cache_read_tokens=0, cache_creation_tokens=0)


def test_text_message_maps_text_stop_reason_usage_and_keeps_native_body():
    body = fixture_bytes("anthropic/message_text.json")
    response = parse_response(body)
    assert response.id == "msg_01XumvpCiUsmbzilMS7iPp5w"
    assert response.model == "claude-sonnet-4-5"
    assert response.content == [TextBlock(text=TEXT)]
    assert response.stop_reason == "end_turn"
    assert response.stop_sequence is None
    assert response.usage == FIXTURE_USAGE
    assert response.native == NativeResponse(protocol="anthropic", body=body)


def test_thinking_block_keeps_its_signature_and_comes_first():
    response = parse_response(fixture_bytes("anthropic/message_thinking.json"))
    assert response.content == [
        ThinkingBlock(
            thinking="The user wants a greeting. I will answer briefly.",
            signature="EqQBCkgIARABGAIiQL2conformance0signature0fake0AAAA==",
        ),
        TextBlock(text=TEXT),
    ]


def test_parallel_tool_use_blocks_keep_ids_names_and_raw_input():
    response = parse_response(fixture_bytes("anthropic/message_tool_use_parallel.json"))
    assert response.stop_reason == "tool_use"
    first, second = response.content
    assert isinstance(first, ToolUseBlock) and isinstance(second, ToolUseBlock)
    assert (first.id, first.name) == ("toolu_01zWIYCwLijOQw2BCP2lrnSz", "get_weather")
    assert (second.id, second.name) == ("toolu_01Zxed9IEFJ7UPJYcPSr0805", "get_time")
    assert msgspec.json.decode(first.input) == {
        "city": "Paris", "unit": "celsius", "days": 3,
        "details": {"hourly": True, "fields": ["temp", "wind"], "note": 'naïve "quoted"'},
    }
    assert msgspec.json.decode(second.input) == {
        "city": "Tokyo", "unit": "fahrenheit", "days": 1, "details": {"hourly": False, "fields": []},
    }


def test_cache_usage_is_added_to_input_tokens_and_stop_sequence_kept():
    response = parse_response(fixture_bytes("anthropic/message_prompt_cache.json"))
    assert response.usage == Usage(
        input_tokens=25 + 300 + 1200, output_tokens=40, cache_read_tokens=1200, cache_creation_tokens=300
    )
    assert response.stop_reason == "stop_sequence"
    assert response.stop_sequence == "\n\nHuman:"


def test_server_tool_blocks_become_opaque_and_redacted_thinking_is_modelled():
    response = parse_response(fixture_bytes("anthropic/message_server_tool_citations.json"))
    server_use, search_result, text, redacted = response.content
    assert isinstance(server_use, OpaqueBlock) and server_use.kind == "server_tool_use"
    assert server_use.protocol == "anthropic"
    assert msgspec.json.decode(server_use.data)["input"] == {"query": "weather Paris"}
    assert isinstance(search_result, OpaqueBlock) and search_result.kind == "web_search_tool_result"
    assert msgspec.json.decode(search_result.data)["content"][0]["url"] == "https://example.com/paris"
    assert text == TextBlock(text="It is sunny in Paris.")  # citations survive only in native
    assert redacted == RedactedThinkingBlock(
        data="EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"
    )


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[]", b'{"type":"message"}', b'{"id":"m","model":"x","content":"text"}'],
    ids=["empty", "not-json", "array", "missing-id", "content-not-list"],
)
def test_malformed_body_is_a_protocol_error(body):
    with pytest.raises(GatewayError) as caught:
        parse_response(body)
    assert caught.value.kind is ErrorKind.PROTOCOL


def test_a_relayed_message_skips_converting_its_content_blocks() -> None:
    """An Anthropic client gets the upstream body as it is: ids, stop and usage are read, the
    blocks are not converted."""
    from adapters.outbound.anthropic.response import parse_response as parse

    body = fixture_bytes("anthropic/message_tool_use_parallel.json")
    light, full = parse(body, content=False), parse(body)
    assert light.content == [] and full.content and light.native == full.native
    assert (light.id, light.model, light.usage, light.stop_reason) == (full.id, full.model, full.usage, full.stop_reason)
