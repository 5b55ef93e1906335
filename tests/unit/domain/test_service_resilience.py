"""The service's policies, with fake providers: retry, failover, timeouts, and how the circuit
breakers meet them (the breakers' own rules: test_service_circuits.py, test_circuits.py)."""

from __future__ import annotations

import asyncio
from contextlib import aclosing

import pytest

from domain.errors import ErrorKind, GatewayError
from domain.ir import MessageDelta, MessageStart, MessageStop, StreamError, TextBlock
from domain.request_record import RequestRecord
from tests.unit.domain.resilience_support import REQUEST, FakeProvider, Harness, err, text_events


async def test_a_retryable_failure_is_retried_on_the_same_target() -> None:
    h = Harness(FakeProvider("a", err(ErrorKind.UPSTREAM, 500)))
    response, record = await h.complete()
    assert response.content == [TextBlock(text="a")]
    assert [a["result"] for a in record.attempts] == ["upstream", "ok"]
    assert len(h.sleeps) == 1 and 0 <= h.sleeps[0] <= 0.25
    assert record.failed_over is False


async def test_after_the_retries_the_fallback_serves() -> None:
    h = Harness(FakeProvider("a", err(ErrorKind.UNAVAILABLE), err(ErrorKind.TIMEOUT)), FakeProvider("b"), fallbacks=("b",))
    response, record = await h.complete()
    assert response.content == [TextBlock(text="b")]
    assert [(a["provider"], a["result"]) for a in record.attempts] == [("a", "unavailable"), ("a", "timeout"), ("b", "ok")]
    assert record.failed_over is True and record.provider == "b"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
async def test_other_4xx_are_neither_retried_nor_failed_over(status: int) -> None:
    h = Harness(FakeProvider("a", err(ErrorKind.INVALID_REQUEST, status)), FakeProvider("b"), fallbacks=("b",))
    with pytest.raises(GatewayError) as info:
        await h.complete()
    assert info.value.status == status
    assert h.providers["b"].calls == 0 and h.sleeps == []


async def test_retry_after_within_the_cap_is_honoured() -> None:
    h = Harness(FakeProvider("a", err(ErrorKind.RATE_LIMITED, 429, retry_after=2.0)))
    await h.complete()
    assert h.sleeps == [2.0]


async def test_retry_after_beyond_the_cap_fails_over_at_once() -> None:
    h = Harness(FakeProvider("a", err(ErrorKind.RATE_LIMITED, 429, retry_after=60.0)), FakeProvider("b"), fallbacks=("b",))
    response, _ = await h.complete()
    assert response.content == [TextBlock(text="b")] and h.sleeps == []


async def test_a_provider_without_key_fails_over_without_retry() -> None:
    h = Harness(FakeProvider("a", err(ErrorKind.CONFIGURATION)), FakeProvider("b"), fallbacks=("b",))
    response, record = await h.complete()
    assert response.content == [TextBlock(text="b")] and len(record.attempts) == 2 and h.sleeps == []


async def test_when_every_target_fails_the_last_error_is_raised() -> None:
    h = Harness(FakeProvider("a", *[err(ErrorKind.UPSTREAM, 500)] * 2), FakeProvider("b", *[err(ErrorKind.OVERLOADED, 529)] * 2),
                fallbacks=("b",))
    with pytest.raises(GatewayError) as info:
        await h.complete()
    assert info.value.kind is ErrorKind.OVERLOADED


async def test_circuit_opens_skips_the_deployment_then_probes_and_closes() -> None:
    h = Harness(FakeProvider("a", *[err(ErrorKind.UPSTREAM, 500)] * 3), FakeProvider("b"), fallbacks=("b",), attempts=1, consecutive=3)
    for _ in range(3):
        await h.complete()
    assert ("a", "m", "open") in h.changes
    calls = h.providers["a"].calls
    _, record = await h.complete()
    assert h.providers["a"].calls == calls  # skipped while open: the fallback admits requests
    assert record.provider == "b" and record.failed_over is True  # a fallback stood in for the open pool
    h.clock.now += 31  # cool-down over: one probe goes to a, succeeds, closes the circuit
    _, record = await h.complete()
    assert record.provider == "a"
    assert h.changes[-2:] == [("a", "m", "half_open"), ("a", "m", "closed")]


async def test_a_half_open_probe_abandoned_by_the_client_frees_the_slot() -> None:
    h = Harness(FakeProvider("a", *[err(ErrorKind.UPSTREAM, 500)] * 3), FakeProvider("b"), fallbacks=("b",),
                attempts=1, consecutive=3)
    for _ in range(3):
        await h.complete()
    h.clock.now += 31
    h.providers["a"].delay = 10
    task = asyncio.ensure_future(h.complete())
    await asyncio.sleep(0.01)
    assert h.deployment("a").state == "half_open" and h.providers["a"].calls == 4  # the probe is out
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    h.providers["a"].delay = 0
    _, record = await h.complete()  # the probe slot is free again: this request probes a
    assert record.provider == "a" and h.deployment("a").state == "closed"


async def test_a_response_slower_than_total_fails_over() -> None:
    h = Harness(FakeProvider("a", delay=1.0), FakeProvider("b"), fallbacks=("b",), attempts=1, total=0.05)
    response, record = await h.complete()
    assert response.content == [TextBlock(text="b")]
    assert record.attempts[0]["result"] == "timeout"


async def test_first_byte_bounds_a_stream_not_a_whole_response() -> None:
    slow = Harness(FakeProvider("a", delay=0.1), attempts=1, first_byte=0.05, total=5.0)
    response, _ = await slow.complete()  # non-streaming: total applies
    assert response.content == [TextBlock(text="a")]
    h = Harness(FakeProvider("a", delay=1.0), FakeProvider("b"), fallbacks=("b",), attempts=1, first_byte=0.05)
    _, record = await h.stream()
    assert record.provider == "b" and record.attempts[0]["result"] == "timeout"


async def test_a_local_token_count_neither_probes_nor_is_refused_by_a_circuit() -> None:
    provider = FakeProvider("a", *[err(ErrorKind.UPSTREAM, 500)] * 3)
    provider.counts_locally = True  # type: ignore[attr-defined]
    h = Harness(provider, FakeProvider("b"), fallbacks=("b",), attempts=1, consecutive=3, breaker=None)
    for _ in range(3):
        await h.complete()
    assert ("a", "m", "open") in h.changes
    assert await h.service.count_tokens(REQUEST, RequestRecord()) == 1  # served while open
    assert h.deployment("a").counts(h.clock.now) == (3, 3)  # and not counted
    h.clock.now += 31
    await h.service.count_tokens(REQUEST, RequestRecord())
    assert h.deployment("a").state != "closed"  # the estimate closed nothing


async def test_an_unset_key_never_opens_the_circuit() -> None:
    h = Harness(FakeProvider("a", *[err(ErrorKind.CONFIGURATION)] * 10), attempts=1, consecutive=3)
    for _ in range(6):
        with pytest.raises(GatewayError) as info:
            await h.complete()
        assert info.value.kind is ErrorKind.CONFIGURATION
    assert h.changes == []


async def test_a_client_error_frame_mid_stream_does_not_count_against_the_circuit() -> None:
    frame = StreamError(kind=ErrorKind.INVALID_REQUEST.value, message="bad")
    h = Harness(FakeProvider("a", *[[*text_events()[:2], frame]] * 3), consecutive=1)
    for _ in range(3):
        events, record = await h.stream()
        assert events[-1] == frame and record.stream_error == "invalid_request"
    assert h.changes == []


async def test_weighted_targets_split_traffic_and_skip_an_open_circuit() -> None:
    h = Harness(FakeProvider("a"), FakeProvider("b"), targets=(("a", 3.0), ("b", 1.0)))
    served = [(await h.complete())[1].provider for _ in range(400)]
    assert 0.65 < served.count("a") / 400 < 0.85
    for _ in range(3):  # three failed requests in a row open a's circuit
        h.deployment("a").settle(err(ErrorKind.UPSTREAM, 500), 0)
    assert h.deployment("a").state == "open"
    assert {(await h.complete())[1].provider for _ in range(20)} == {"b"}


async def test_stream_failure_before_the_first_event_fails_over() -> None:
    h = Harness(FakeProvider("a", err(ErrorKind.OVERLOADED, 529)), FakeProvider("b"), fallbacks=("b",), attempts=1)
    events, record = await h.stream()
    assert isinstance(events[0], MessageStart) and isinstance(events[-1], MessageStop)
    assert record.provider == "b" and record.failed_over


async def test_stream_error_frame_as_first_event_fails_over() -> None:
    first = StreamError(kind=ErrorKind.OVERLOADED.value, message="busy")
    h = Harness(FakeProvider("a", [first]), FakeProvider("b"), fallbacks=("b",), attempts=1)
    _, record = await h.stream()
    assert record.provider == "b"
    assert h.providers["a"].closed == 1


async def test_stream_failure_after_the_first_event_is_not_retried() -> None:
    steps = [*text_events()[:3], err(ErrorKind.UNAVAILABLE)]
    h = Harness(FakeProvider("a", steps), FakeProvider("b"), fallbacks=("b",))
    events, record = await h.stream()
    assert isinstance(events[-1], StreamError) and events[-1].kind == "unavailable"
    assert h.providers["b"].calls == 0 and len(record.attempts) == 1
    assert h.providers["a"].closed == 1


async def test_idle_upstream_mid_stream_ends_with_a_timeout_error_and_closes_it() -> None:
    steps = [*text_events()[:3], 1.0, *text_events()[3:]]
    h = Harness(FakeProvider("a", steps), idle=0.05)
    events, _ = await h.stream()
    assert isinstance(events[-1], StreamError) and events[-1].kind == "timeout"
    assert "0.05" in events[-1].message
    assert h.providers["a"].closed == 1


async def test_a_slow_client_is_not_an_idle_upstream() -> None:
    h = Harness(FakeProvider("a"), idle=0.03)
    record = RequestRecord()
    events = await h.service.stream(REQUEST, record)
    received = []
    async with aclosing(events):  # type: ignore[type-var]
        async for event in events:
            received.append(event)
            await asyncio.sleep(0.06)  # the consumer is slower than the idle limit
    assert isinstance(received[-1], MessageStop)


async def test_usage_on_the_stream_reaches_the_request_record() -> None:
    from domain.ir import Usage

    steps = [MessageStart(id="x", model="m", usage=Usage(input_tokens=5)), MessageDelta(stop_reason="end_turn",
             usage=Usage(output_tokens=7)), MessageStop()]
    h = Harness(FakeProvider("a", steps))
    _, record = await h.stream()
    assert (record.input_tokens, record.output_tokens) == (5, 7)
