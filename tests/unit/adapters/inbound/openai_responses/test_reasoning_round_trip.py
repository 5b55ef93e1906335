"""Reasoning items survive a client's round trip, and go back only to the protocol that made them."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from adapters.inbound.openai_responses.decode import to_ir
from adapters.inbound.openai_responses.encode import encode_response, from_ir
from adapters.outbound.anthropic.request import build_body as anthropic_body
from adapters.outbound.anthropic.response import parse_response as parse_anthropic
from adapters.outbound.anthropic.settings import AnthropicSettings
from adapters.outbound.openai.request import build_body as openai_body
from adapters.outbound.openai.settings import OpenAISettings
from domain.ir import (
    AnyBlock,
    ChatRequest,
    ChatResponse,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
)
from tests.conftest import fixture_bytes
from tests.unit.adapters.inbound.openai_responses.support import call_of, fixture_call, record_for

ANTHROPIC = AnthropicSettings(name="anthropic", base_url="https://api.anthropic.test")
OPENAI = OpenAISettings(name="openai", base_url="https://api.openai.test/v1")
SIGNED = ThinkingBlock(
    thinking="The user wants the weather. I'll call the tool.", signature="EqQBCkgIARABGAIiQL2sig=="
)
REDACTED = RedactedThinkingBlock(
    data="EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPkNRj2YfWXGmKDxH4mPnZ5sQ7vB5URj"
)
CALL = ToolUseBlock(id="toolu_01", name="weather", input=msgspec.Raw(b'{"city":"Paris"}'))


def answer(*blocks: AnyBlock) -> ChatResponse:
    return ChatResponse(
        id="msg_1", model="claude-sonnet-4-5", content=[*blocks, CALL], stop_reason="tool_use"
    )


def output_of(response: ChatResponse, upstream: str = "anthropic") -> list[dict[str, Any]]:
    """The output items a client gets, as it would send them back (ids and statuses included)."""
    body = encode_response(from_ir(response, call_of(), record_for(upstream)))
    return msgspec.json.decode(body)["output"]


def next_turn(items: list[dict[str, Any]]) -> ChatRequest:
    result = {"type": "function_call_output", "call_id": "toolu_01", "output": "Sunny"}
    return to_ir(call_of(input=[{"role": "user", "content": "Weather in Paris?"}, *items, result]))


@pytest.mark.parametrize("block", [SIGNED, REDACTED, ThinkingBlock(thinking="", signature="EqQBomitted")])
def test_anthropic_thinking_comes_back_as_the_same_block(block: AnyBlock) -> None:
    request = next_turn(output_of(answer(block)))
    assert request.messages[1].content == [block, CALL]


def test_thinking_without_state_comes_back_unsigned() -> None:
    unsigned = ThinkingBlock(thinking="Reasoning text from an OpenAI-compatible server.")
    items = output_of(answer(unsigned), upstream="openai")
    assert items[0]["encrypted_content"] is None
    assert next_turn(items).messages[1].content == [unsigned, CALL]


def test_the_state_does_not_depend_on_the_client_keeping_the_summary() -> None:
    items = output_of(answer(SIGNED))
    items[0]["summary"] = []  # some clients strip summaries before sending items back
    assert next_turn(items).messages[1].content == [SIGNED, CALL]


def test_codex_style_items_without_ids_come_back_too() -> None:
    item = output_of(answer(SIGNED))[0]
    codex_item = {
        "type": "reasoning",
        "summary": item["summary"],
        "content": None,
        "encrypted_content": item["encrypted_content"],
    }
    assert next_turn([codex_item]).messages[1].content[0] == SIGNED


def test_signed_thinking_reaches_anthropic_with_its_signature() -> None:
    body = msgspec.json.decode(
        anthropic_body(next_turn(output_of(answer(SIGNED, TextBlock(text="Checking.")))), "claude", ANTHROPIC)
    )
    assert body["messages"][1]["content"][0] == {
        "type": "thinking",
        "thinking": SIGNED.thinking,
        "signature": SIGNED.signature,
    }


def test_no_reasoning_reaches_a_chat_completions_provider() -> None:
    request = next_turn(output_of(answer(SIGNED, REDACTED)))
    body = openai_body(request, "gpt-4o", OPENAI)
    assert SIGNED.thinking.encode() not in body and SIGNED.signature.encode() not in body  # type: ignore[union-attr]
    assert REDACTED.data.encode() not in body
    assert msgspec.json.decode(body)["messages"][1]["tool_calls"][0]["id"] == "toolu_01"


def test_openais_own_encrypted_reasoning_reaches_no_provider() -> None:
    """Codex's items from an OpenAI session: neither Anthropic nor Chat Completions can read them."""
    request = to_ir(fixture_call("request_codex.json"))
    thinking = request.messages[1].content[0]
    assert isinstance(thinking, ThinkingBlock) and not thinking.signature
    anthropic = anthropic_body(request, "claude", ANTHROPIC)
    assert b"gAAAAAB" not in anthropic and b"Listing repository files" not in anthropic
    assert b"Listing repository files" not in openai_body(request, "gpt-4o", OPENAI)


def test_state_made_by_another_protocol_is_never_replayed_as_signed() -> None:
    items = output_of(answer(ThinkingBlock(thinking="Hmm", signature="not-anthropic")), upstream="openai")
    assert items[0]["encrypted_content"].startswith("gateway.v1.")
    assert next_turn(items).messages[1].content[0] == ThinkingBlock(thinking="Hmm")


def test_a_recorded_anthropic_thinking_answer_round_trips() -> None:
    response = parse_anthropic(fixture_bytes("anthropic/message_thinking.json"))
    items = output_of(msgspec.structs.replace(response, content=[*response.content, CALL]))
    assert next_turn(items).messages[1].content == [*response.content, CALL]
