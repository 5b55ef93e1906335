"""Relay mode (an OpenAI client on an OpenAI upstream) reads only the chunks' heads, yet relays
the same frames, and ends, logs usage and fails exactly as the full parse does."""

from __future__ import annotations

import msgspec
import pytest

from domain.errors import GatewayError
from domain.ir import MessageDelta, MessageStart, MessageStop, Ping, StreamError
from tests.conftest import FIXTURES, sse_lines
from tests.streams import openai_events, sse

STREAMS = sorted(p.name for p in (FIXTURES / "openai").glob("stream_*.sse"))
CHUNK = b'{"id":"c1","object":"chat.completion.chunk","created":7,"model":"m","choices":[%s]}'


async def run(lines: list[bytes], *, relay: bool, relay_usage: bool) -> tuple[list, BaseException | None]:
    events: list = []
    try:
        async for event in openai_events(lines, relay_usage=relay_usage, content=not relay):
            events.append(event)
    except GatewayError as exc:
        return events, exc
    return events, None


def summary(events: list, error: BaseException | None) -> tuple:
    """What a relaying frontdoor and the service see: the native frames in order, the start,
    the ending (stop reason, usage) and any error."""
    natives = [e.native for e in events if e.native is not None]
    starts = [msgspec.structs.replace(e, native=None) for e in events if isinstance(e, MessageStart)]
    endings = [e for e in events if e.native is None and isinstance(e, MessageDelta | MessageStop | StreamError)]
    failure = (type(error), getattr(error, "kind", None), str(error)) if error else None
    return natives, starts, endings, failure


@pytest.mark.parametrize("relay_usage", [True, False])
@pytest.mark.parametrize("name", STREAMS)
async def test_relay_mode_matches_the_full_parse_on_every_fixture(name: str, relay_usage: bool) -> None:
    lines = sse_lines(f"openai/{name}")
    full = summary(*await run(lines, relay=False, relay_usage=relay_usage))
    relayed = summary(*await run(lines, relay=True, relay_usage=relay_usage))
    assert relayed == full
    assert full[0]  # the fixture relays something


async def test_relay_mode_yields_one_event_per_relayed_frame() -> None:
    lines = sse_lines("openai/stream_text_with_usage.sse")
    events, error = await run(lines, relay=True, relay_usage=True)
    assert error is None
    assert isinstance(events[0], MessageStart)
    assert all(isinstance(e, Ping) for e in events[1:-2])
    assert [type(e) for e in events[-2:]] == [MessageDelta, MessageStop]


@pytest.mark.parametrize(
    "lines",
    [
        sse(CHUNK % b'{"index":0,"delta":{"content":"a"}}'),  # no finish, no [DONE]
        sse(CHUNK % b'{"index":0,"delta":{"content":"a"}}', b"not json"),
        sse(b'{"error":{"message":"boom","type":"server_error"}}'),
        sse(CHUNK % b'{"index":0,"delta":{"content":"a"}}', b'{"error":{"message":"late","type":"server_error"}}'),
    ],
    ids=["ended_early", "unreadable", "error_first", "error_midstream"],
)
async def test_relay_mode_fails_as_the_full_parse_does(lines: list[bytes]) -> None:
    full = summary(*await run(lines, relay=False, relay_usage=False))
    relayed = summary(*await run(lines, relay=True, relay_usage=False))
    assert relayed == full


async def test_relay_mode_reports_tool_use_when_the_turn_called_tools_but_finished_with_stop() -> None:
    call = b'{"index":0,"delta":{"tool_calls":[{"index":0,"id":"t","function":{"name":"f","arguments":""}}]}}'
    lines = sse(CHUNK % call, CHUNK % b'{"index":0,"delta":{},"finish_reason":"stop"}', b"[DONE]")
    full = summary(*await run(lines, relay=False, relay_usage=False))
    relayed = summary(*await run(lines, relay=True, relay_usage=False))
    assert relayed == full
    assert relayed[2][0].stop_reason == "tool_use"
