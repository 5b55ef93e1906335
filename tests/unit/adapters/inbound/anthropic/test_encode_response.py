"""IR responses -> Anthropic ``message`` bodies, checked with the official SDK's types."""

from __future__ import annotations

import re

import anthropic
import msgspec

from adapters.inbound.anthropic.encode import from_ir
from adapters.outbound.anthropic.response import parse_response
from adapters.outbound.openai.response import parse_response as parse_openai
from domain.ir import (
    ChatResponse,
    ImageBlock,
    OpaqueBlock,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    Usage,
)
from domain.request_record import RequestRecord
from tests.conftest import fixture_bytes
from tests.unit.adapters.inbound.anthropic.support import sdk_client


def record_for(upstream: str, alias: str | None = None) -> RequestRecord:
    ex = RequestRecord(app="test", frontdoor="anthropic")
    ex.upstream_protocol, ex.alias = upstream, alias
    return ex


def openai_like_response(**overrides) -> ChatResponse:
    """A response shaped like one parsed from an OpenAI upstream: reasoning, text, two tools."""
    fields = dict(
        id="chatcmpl-AbC123",
        model="gpt-4o-2024-08-06",
        content=[
            ThinkingBlock(thinking="Let me check both."),
            TextBlock(text="Checking the weather and the time."),
            ToolUseBlock(id="call_1", name="get_weather", input=msgspec.Raw(b'{"city":"Paris"}')),
            ToolUseBlock(id="call_2", name="get_time", input=msgspec.Raw(b'{"city":"Tokyo"}')),
        ],
        stop_reason="tool_use",
        usage=Usage(input_tokens=1500, output_tokens=60, cache_read_tokens=1024),
        created=1700000000,
    )
    fields.update(overrides)
    return ChatResponse(**fields)


def test_translated_message_validates_with_the_sdk_and_has_anthropic_field_order():
    body = from_ir(openai_like_response(), record_for("openai"))
    message = anthropic.types.Message.model_validate_json(body)
    assert list(msgspec.json.decode(body)) == [
        "id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage",
    ]
    assert message.id == "chatcmpl-AbC123"
    assert message.model == "gpt-4o-2024-08-06"
    assert [block.type for block in message.content] == ["thinking", "text", "tool_use", "tool_use"]
    assert message.content[0].signature == ""
    assert message.content[2].input == {"city": "Paris"}
    assert message.content[3].id == "call_2"
    assert message.stop_reason == "tool_use"
    assert message.stop_sequence is None


def test_usage_subtracts_cache_counts_from_input_tokens():
    body = from_ir(
        openai_like_response(usage=Usage(input_tokens=1525, output_tokens=40, cache_read_tokens=1200,
                                         cache_creation_tokens=300)),
        record_for("openai"),
    )
    assert msgspec.json.decode(body)["usage"] == {
        "input_tokens": 25, "cache_creation_input_tokens": 300, "cache_read_input_tokens": 1200,
        "output_tokens": 40,
    }


def test_unknown_usage_is_zero_and_missing_stop_reason_is_end_turn():
    body = from_ir(openai_like_response(usage=Usage(), stop_reason=None, content=[]), record_for("openai"))
    message = anthropic.types.Message.model_validate_json(body)
    assert (message.usage.input_tokens, message.usage.output_tokens) == (0, 0)
    assert message.stop_reason == "end_turn"
    assert message.content == []


def test_content_filter_becomes_refusal_and_alias_names_the_model():
    body = from_ir(openai_like_response(stop_reason="content_filter"), record_for("openai", alias="my-model"))
    message = anthropic.types.Message.model_validate_json(body)
    assert (message.stop_reason, message.model) == ("refusal", "my-model")


def test_blocks_anthropic_cannot_hold_are_dropped():
    response = openai_like_response(content=[
        TextBlock(text="a"),
        ImageBlock(url="https://example.com/x.png"),
        OpaqueBlock(protocol="openai", kind="audio", data=msgspec.Raw(b'{"id":"audio_1"}')),
        OpaqueBlock(protocol="anthropic", kind="server_tool_use",
                    data=msgspec.Raw(b'{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search",'
                                     b'"input":{}}')),
    ])
    message = anthropic.types.Message.model_validate_json(from_ir(response, record_for("openai")))
    assert [block.type for block in message.content] == ["text", "server_tool_use"]


def test_native_body_is_relayed_byte_for_byte_without_alias():
    body = fixture_bytes("anthropic/message_server_tool_citations.json")
    assert from_ir(parse_response(body), record_for("anthropic")) == body


def test_native_relay_with_alias_replaces_only_the_model():
    body = fixture_bytes("anthropic/message_server_tool_citations.json")
    relayed = from_ir(parse_response(body), record_for("anthropic", alias="house-model"))
    original, result = msgspec.json.decode(body), msgspec.json.decode(relayed)
    assert result.pop("model") == "house-model"
    original.pop("model")
    assert result == original  # made-up and nested fields survive
    assert relayed.startswith(
        b'{"id":"msg_01SrvTool9kLmNpQrStUvWxYz","type":"message","role":"assistant","model":"house-model"'
    )


def test_sdk_client_reads_a_translated_message():
    body = from_ir(openai_like_response(), record_for("openai"))
    client = sdk_client(200, body, "application/json")
    message = client.messages.create(model="x", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert message.content[1].text == "Checking the weather and the time."
    assert message.usage.cache_read_input_tokens == 1024
    assert message.usage.input_tokens == 476


TOOL_ID = re.compile(r"[a-zA-Z0-9_-]+")  # what the real API sends, and accepts back


def test_an_upstream_without_a_message_id_gets_a_new_one_each_time() -> None:
    """TGI sends ``"id": ""``; the real API's ids are unique, and clients key messages by them."""
    response = parse_openai(fixture_bytes("openai/chat_tgi_empty_id.json"))
    ids = {msgspec.json.decode(from_ir(response, record_for("openai")))["id"] for _ in range(2)}
    assert len(ids) == 2 and all(i.startswith("msg_") and len(i) == 28 for i in ids)


def test_an_upstream_message_id_is_kept() -> None:
    body = from_ir(parse_openai(fixture_bytes("openai/chat_text.json")), record_for("openai"))
    assert msgspec.json.decode(body)["id"] == "chatcmpl-C0b2mcSAsZKHL1fyK2dB5v09URmaL"


def test_tool_ids_other_providers_mint_become_valid_anthropic_ids() -> None:
    """Kimi's ``functions.get_weather:0`` is an id the real API never sends, and refuses when
    the client replays it to an Anthropic route (a model switch, a failover)."""
    response = parse_openai(fixture_bytes("openai/chat_kimi_tool_call_ids.json"))
    body = msgspec.json.decode(from_ir(response, record_for("openai")))
    ids = [block["id"] for block in body["content"] if block["type"] == "tool_use"]
    assert len(ids) == 2 and all(TOOL_ID.fullmatch(i) for i in ids)
    assert ids[0].startswith("functions_get_weather_0_") and ids[0] != ids[1]
