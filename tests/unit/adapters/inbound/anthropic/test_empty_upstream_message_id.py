"""Regression: an OpenAI-compatible upstream without message ids (TGI sends ``"id": ""``) gave
Anthropic clients messages with an empty id, every one the same; the real API's are unique."""

from __future__ import annotations

import msgspec

from adapters.inbound.anthropic.encode import from_ir
from adapters.inbound.anthropic.stream import encode_stream
from adapters.outbound.openai.response import parse_response
from domain.ir import ChatRequest, Message, TextBlock
from domain.request_record import RequestRecord
from tests.conftest import fixture_bytes, sse_lines
from tests.streams import openai_events
from tests.unit.adapters.inbound.anthropic.support import collect, sdk_stream_message

REQUEST = ChatRequest(model="m", messages=[Message(role="user", content=[TextBlock(text="hi")])], stream=True)


def _record() -> RequestRecord:
    record = RequestRecord(app="test", frontdoor="anthropic")
    record.upstream_protocol = "openai"
    return record


def test_message_gets_a_new_id() -> None:
    response = parse_response(fixture_bytes("openai/chat_tgi_empty_id.json"))
    ids = {msgspec.json.decode(from_ir(response, _record()))["id"] for _ in range(2)}
    assert len(ids) == 2 and all(i.startswith("msg_") and len(i) == 28 for i in ids)


async def test_stream_message_start_gets_a_new_id() -> None:
    events = openai_events(sse_lines("openai/stream_tgi_empty_id.sse"))
    sse = b"".join(await collect(encode_stream(events, REQUEST, _record())))
    message = sdk_stream_message(sse)
    assert message.id.startswith("msg_") and len(message.id) == 28
    assert message.content[0].text == "Hello! How can I help you today?"  # type: ignore[union-attr]


def test_an_upstream_id_is_kept() -> None:
    body = from_ir(parse_response(fixture_bytes("openai/chat_text.json")), _record())
    assert msgspec.json.decode(body)["id"] == "chatcmpl-C0b2mcSAsZKHL1fyK2dB5v09URmaL"
