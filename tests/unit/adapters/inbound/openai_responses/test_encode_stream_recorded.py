"""Recorded upstream streams, through the providers' own parsers and the Responses encoder,
with the members of every event compared to a recorded Responses stream of the API."""

from __future__ import annotations

import pytest

from domain.ir import (
    AnyEvent,
    BlockDelta,
    BlockStart,
    BlockStop,
    ThinkingBlock,
    ThinkingDelta,
)
from tests.conftest import fixture_bytes
from tests.unit.adapters.inbound.openai_responses.support import (
    anthropic_events,
    check_invariants,
    encode,
    end,
    frames,
    openai_events,
    record_for,
    sdk_final,
    start,
    text_block,
    tool_block,
    types,
)

# --- recorded upstream streams, through the providers' own parsers ----------------------------------


@pytest.mark.parametrize(
    "fixture",
    [
        "stream_text.sse",
        "stream_thinking.sse",
        "stream_text_then_tool_use.sse",
        "stream_tool_use_parallel.sse",
        "stream_citations_unknown_event.sse",
        "stream_stop_sequence_prompt_cache.sse",
    ],
)
async def test_recorded_anthropic_streams(fixture: str) -> None:
    raw = await encode(await anthropic_events(fixture), ex=record_for("anthropic"))
    check_invariants(raw)
    assert sdk_final(raw).status == "completed"


@pytest.mark.parametrize(
    "fixture",
    [
        "stream_text_with_usage.sse",
        "stream_text_then_tool.sse",
        "stream_tool_calls_parallel.sse",
        "stream_reasoning_then_text.sse",
        "stream_parallel_tool_calls_same_index.sse",
        "stream_usage_cached_tokens.sse",
    ],
)
async def test_recorded_chat_completions_streams(fixture: str) -> None:
    raw = await encode(await openai_events(fixture), ex=record_for("openai"))
    check_invariants(raw)
    assert sdk_final(raw).status == "completed"


async def test_recorded_midstream_error_ends_with_response_failed() -> None:
    raw = await encode(await anthropic_events("stream_midstream_error.sse"), ex=record_for("anthropic"))
    check_invariants(raw)
    assert types(frames(raw))[-2:] == ["error", "failed"]


def _keys(raw: bytes) -> dict[str, set[str]]:
    keys: dict[str, set[str]] = {}
    for name, data in frames(raw):
        keys.setdefault(name, set()).update(k for k in data if k != "obfuscation")
    return keys


@pytest.mark.parametrize(
    ("recorded", "ours"),
    [
        (
            "stream_openai_reasoning_text.sse",
            [
                start(),
                BlockStart(index=0, block=ThinkingBlock(thinking="")),
                BlockDelta(index=0, delta=ThinkingDelta(thinking="x")),
                BlockStop(index=0),
                *text_block(1, "Hi"),
                *end(),
            ],
        ),
        (
            "stream_openai_function_call.sse",
            [start(), *tool_block(0, "call_1", "get_weather", '{"city":"Tokyo"}'), *end("tool_use")],
        ),
    ],
)
async def test_events_carry_every_member_the_api_sends(recorded: str, ours: list[AnyEvent]) -> None:
    real = _keys(fixture_bytes(f"openai_responses/{recorded}"))
    mine = _keys(await encode(ours))
    assert set(real) == set(mine)
    for name, members in real.items():
        assert members <= mine[name], name
