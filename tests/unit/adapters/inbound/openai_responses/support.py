"""Helpers for the Responses codec tests: calls, IR event sources, and the official SDK as the
judge of what the encoders produce."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

import httpx
import msgspec
import openai
from openai.lib.streaming.responses import ResponseStream
from openai.types.responses import ParsedResponse, Response, ResponseStreamEvent
from pydantic import TypeAdapter

from adapters.inbound.openai_responses.decode import ResponsesCall, parse
from adapters.inbound.openai_responses.stream import FinalHook, encode_stream
from domain.ir import (
    AnyEvent,
    BlockDelta,
    BlockStart,
    BlockStop,
    MessageDelta,
    MessageStart,
    MessageStop,
    StopReason,
    TextBlock,
    TextDelta,
    ToolInputDelta,
    ToolUseBlock,
    Usage,
)
from domain.request_record import RequestRecord
from tests import streams
from tests.conftest import fixture_bytes, sse_lines

EVENT = TypeAdapter(ResponseStreamEvent)
_client = openai.OpenAI(api_key="test", base_url="http://gateway.test/v1")


def call_of(body: dict[str, Any] | None = None, **params: Any) -> ResponsesCall:
    """The call for ``body`` (default: a one-line text input), with ``params`` added."""
    fields = {"model": "gpt-5", "input": "Hi", **(body or {}), **params}
    return parse(msgspec.json.encode(fields))


def fixture_call(name: str) -> ResponsesCall:
    return parse(fixture_bytes(f"openai_responses/{name}"))


def record_for(upstream: str = "anthropic", alias: str | None = None) -> RequestRecord:
    result = RequestRecord(app="a", frontdoor="openai")
    result.upstream_protocol, result.alias = upstream, alias
    return result


async def aiter_of(items: Iterable[Any]) -> AsyncIterator[Any]:
    for item in items:
        yield item


async def anthropic_events(name: str) -> list[AnyEvent]:
    """The IR events the Anthropic provider yields for ``tests/fixtures/anthropic/<name>``."""
    return [event async for event in streams.anthropic_events(sse_lines(f"anthropic/{name}"))]


async def openai_events(name: str) -> list[AnyEvent]:
    """The IR events the OpenAI provider yields for ``tests/fixtures/openai/<name>``."""
    return [event async for event in streams.openai_events(sse_lines(f"openai/{name}"))]


async def encode(
    events: list[AnyEvent],
    call: ResponsesCall | None = None,
    ex: RequestRecord | None = None,
    on_final: FinalHook | None = None,
) -> bytes:
    frames = encode_stream(aiter_of(events), call or call_of(stream=True), ex or record_for(), on_final)
    return b"".join([frame async for frame in frames])


def frames(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    """(``event:`` name, decoded ``data:``) of each SSE frame in ``raw``."""
    out = []
    for part in raw.split(b"\n\n"):
        if not part:
            continue
        head, _, data = part.partition(b"\ndata: ")
        assert head.startswith(b"event: "), part
        out.append((head[len(b"event: ") :].decode(), msgspec.json.decode(data)))
    return out


def sdk_events(raw: bytes) -> list[Any]:
    """Every event of ``raw``, validated strictly by the SDK's own event union."""
    return [EVENT.validate_python(data) for _, data in frames(raw)]


def sdk_final(raw: bytes) -> ParsedResponse[Any]:
    """What ``client.responses.stream(...).get_final_response()`` makes of ``raw``."""
    response = httpx.Response(
        200,
        content=raw,
        headers={"content-type": "text/event-stream"},
        request=httpx.Request("POST", "http://gateway.test/v1/responses"),
    )
    stream = openai.Stream(cast_to=ResponseStreamEvent, response=response, client=_client)  # type: ignore[arg-type]
    accumulated = ResponseStream(
        raw_stream=stream, text_format=openai.omit, input_tools=openai.omit, starting_after=None
    )
    return accumulated.get_final_response()


def sdk_response(body: bytes) -> Response:
    """A Response body, validated strictly by the SDK's model."""
    return Response.model_validate_json(body)


def as_builtins(value: Any) -> Any:
    return msgspec.json.decode(msgspec.json.encode(value))


# --- IR event builders -----------------------------------------------------------------------------


def start() -> MessageStart:
    return MessageStart(id="msg_01", model="claude-sonnet-4-5", usage=Usage(input_tokens=20))


def text_block(index: int, *pieces: str) -> list[AnyEvent]:
    deltas: list[AnyEvent] = [BlockDelta(index=index, delta=TextDelta(text=p)) for p in pieces]
    return [BlockStart(index=index, block=TextBlock(text="")), *deltas, BlockStop(index=index)]


def tool_block(index: int, call_id: str, name: str, *fragments: str) -> list[AnyEvent]:
    start_ = BlockStart(index=index, block=ToolUseBlock(id=call_id, name=name, input=msgspec.Raw(b"{}")))
    deltas: list[AnyEvent] = [
        BlockDelta(index=index, delta=ToolInputDelta(partial_json=f)) for f in fragments
    ]
    return [start_, *deltas, BlockStop(index=index)]


def end(stop: StopReason = "end_turn", output_tokens: int = 7) -> list[AnyEvent]:
    return [MessageDelta(stop_reason=stop, usage=Usage(output_tokens=output_tokens)), MessageStop()]


# --- stream checks -----------------------------------------------------------------------------


def check_invariants(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    """What every stream must hold: events the SDK accepts, ``event:`` = ``type``, one id,
    sequence numbers 0..n-1, unique output indexes in order, item ids fixed per index."""
    sdk_events(raw)
    events = frames(raw)
    assert [name for name, _ in events] == [data["type"] for _, data in events]
    assert [data["sequence_number"] for _, data in events] == list(range(len(events)))
    ids = {data["response"]["id"] for _, data in events if "response" in data}
    assert len(ids) == 1
    added = [data["output_index"] for _, data in events if data["type"] == "response.output_item.added"]
    assert added == list(range(len(added)))
    item_ids: dict[int, str] = {}
    for _, data in events:
        if data["type"] in ("response.output_item.added", "response.output_item.done"):
            assert item_ids.setdefault(data["output_index"], data["item"]["id"]) == data["item"]["id"]
        elif "item_id" in data:
            assert item_ids[data["output_index"]] == data["item_id"]
    return events


def types(events: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [name.removeprefix("response.") for name, _ in events]
