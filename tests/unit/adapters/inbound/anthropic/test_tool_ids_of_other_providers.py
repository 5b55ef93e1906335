"""Regression: an Anthropic client answered by an OpenAI-compatible upstream got its tool ids as
the upstream minted them (Kimi's ``functions.get_weather:0``), ids the real API never sends and
refuses when the client replays them to an Anthropic route (a model switch, a failover)."""

from __future__ import annotations

import re

import msgspec

from adapters.inbound.anthropic.encode import from_ir
from adapters.inbound.anthropic.stream import encode_stream
from adapters.outbound.openai.response import parse_response
from domain.ir import ChatRequest, Message, TextBlock
from domain.request_record import RequestRecord
from tests.conftest import fixture_bytes, sse_lines
from tests.streams import openai_events
from tests.unit.adapters.inbound.anthropic.support import collect

VALID = re.compile(r"[a-zA-Z0-9_-]+")
KIMI = "openai/chat_kimi_tool_call_ids.json"


def _record() -> RequestRecord:
    record = RequestRecord(app="test", frontdoor="anthropic")
    record.upstream_protocol = "openai"
    return record


def test_message_tool_ids_are_valid_anthropic_ids() -> None:
    body = msgspec.json.decode(from_ir(parse_response(fixture_bytes(KIMI)), _record()))
    ids = [block["id"] for block in body["content"] if block["type"] == "tool_use"]
    assert len(ids) == 2 and all(VALID.fullmatch(i) for i in ids)
    assert ids[0].startswith("functions_get_weather_0_") and ids[0] != ids[1]


async def test_stream_tool_ids_are_valid_anthropic_ids() -> None:
    lines = [line.replace(b"call_3QQz5niU4my9jIQPa8k6NUr4", b"functions.get_weather:0")
             for line in sse_lines("openai/stream_tool_calls_parallel.sse")]  # fmt: skip
    request = ChatRequest(model="m", messages=[Message(role="user", content=[TextBlock(text="hi")])])
    events = openai_events(lines)
    sse = b"".join(await collect(encode_stream(events, request, _record())))
    starts = [msgspec.json.decode(frame.partition(b"data: ")[2]) for frame in sse.split(b"\n\n")
              if frame.startswith(b"event: content_block_start")]  # fmt: skip
    ids = [start["content_block"]["id"] for start in starts]
    assert ids[0].startswith("functions_get_weather_0_") and all(VALID.fullmatch(i) for i in ids)
