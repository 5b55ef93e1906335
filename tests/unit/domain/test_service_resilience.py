"""The service's policies, with fake providers: retry, failover, circuit breaker, timeouts."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import aclosing

import pytest

from domain.errors import ErrorKind, GatewayError
from domain.exchange import Exchange
from domain.ir import (
    AnyEvent,
    BlockDelta,
    BlockStart,
    BlockStop,
    ChatRequest,
    ChatResponse,
    Message,
    MessageDelta,
    MessageStart,
    MessageStop,
    StreamError,
    TextBlock,
    TextDelta,
)
from domain.resilience import Breakers, CircuitBreaker, ProviderPolicy, RetryPolicy
from domain.routing import Destination, RoutingTable, Target
from domain.service import ChatService

OK = "ok"
REQUEST = ChatRequest(model="m", messages=[Message(role="user", content=[TextBlock(text="hi")])])


def err(kind: ErrorKind, status: int | None = None, retry_after: float | None = None) -> GatewayError:
    return GatewayError(kind, f"scripted {kind.value}", status=status, retry_after=retry_after)


def text_events(n: int = 3) -> list[AnyEvent]:
    return [
        MessageStart(id="msg_1", model="m"),
        BlockStart(index=0, block=TextBlock(text="")),
        *[BlockDelta(index=0, delta=TextDelta(text=f"t{i}")) for i in range(n)],
        BlockStop(index=0),
        MessageDelta(stop_reason="end_turn"),
        MessageStop(),
    ]


class FakeProvider:
    """Answers from a script: one outcome per call (an error, OK, or a list of stream steps:
    events, errors to raise, or floats meaning "sleep that long")."""

    protocol = "openai"
    counts_locally = False

    def __init__(self, name: str, *script: object, delay: float = 0.0) -> None:
        self.name = name
        self.script = list(script)
        self.calls = 0
        self.delay = delay
        self.closed = 0

    def _next(self) -> object:
        self.calls += 1
        return self.script.pop(0) if self.script else OK

    async def complete(self, request: ChatRequest, model: str) -> ChatResponse:
        outcome = self._next()
        await asyncio.sleep(self.delay)
        if isinstance(outcome, GatewayError):
            raise outcome
        return ChatResponse(id="r", model=model, content=[TextBlock(text=self.name)])

    async def stream(self, request: ChatRequest, model: str) -> AsyncIterator[AnyEvent]:
        outcome = self._next()
        try:
            await asyncio.sleep(self.delay)
            if isinstance(outcome, GatewayError):
                raise outcome
            for step in text_events() if outcome == OK else outcome:  # type: ignore[union-attr]
                if isinstance(step, GatewayError):
                    raise step
                if isinstance(step, float):
                    await asyncio.sleep(step)
                    continue
                yield step
        finally:
            self.closed += 1

    async def count_tokens(self, request: ChatRequest, model: str) -> int:
        return 1


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Harness:
    def __init__(self, *providers: FakeProvider, fallbacks: tuple[str, ...] = (), targets: tuple[tuple[str, float], ...] = (),
                 attempts: int = 2, failures: int = 3, first_byte: float = 5.0, idle: float = 5.0,
                 total: float = 5.0) -> None:
        self.providers = {p.name: p for p in providers}
        self.sleeps: list[float] = []
        self.clock = Clock()
        self.changes: list[tuple[str, str]] = []
        pool = tuple(Target(provider=n, weight=w) for n, w in targets) or (Target(provider=providers[0].name),)
        destination = Destination(targets=pool, fallbacks=tuple(Target(provider=f) for f in fallbacks))
        breakers = Breakers(
            CircuitBreaker(p.name, failures, 30.0, clock=self.clock, on_change=lambda n, s: self.changes.append((n, s)))
            for p in providers
        )
        policy = ProviderPolicy(
            retry=RetryPolicy(attempts=attempts, retry_after_cap=10.0), first_byte=first_byte, idle=idle, total=total
        )

        async def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)

        self.service = ChatService(
            RoutingTable(default=destination), self.providers, breakers=breakers,
            policies={n: policy for n in self.providers}, rng=random.Random(7), sleep=sleep,
        )

    async def complete(self) -> tuple[ChatResponse, Exchange]:
        exchange = Exchange()
        return await self.service.complete(REQUEST, exchange), exchange

    async def stream(self) -> tuple[list[AnyEvent], Exchange]:
        exchange = Exchange()
        events = await self.service.stream(REQUEST, exchange)
        async with aclosing(events):  # type: ignore[type-var]
            return [e async for e in events], exchange


async def test_a_retryable_failure_is_retried_on_the_same_target() -> None:
    h = Harness(FakeProvider("a", err(ErrorKind.UPSTREAM, 500)))
    response, exchange = await h.complete()
    assert response.content == [TextBlock(text="a")]
    assert [a["result"] for a in exchange.attempts] == ["upstream", "ok"]
    assert len(h.sleeps) == 1 and 0 <= h.sleeps[0] <= 0.25
    assert exchange.failed_over is False


async def test_after_the_retries_the_fallback_serves() -> None:
    h = Harness(FakeProvider("a", err(ErrorKind.UNAVAILABLE), err(ErrorKind.TIMEOUT)), FakeProvider("b"), fallbacks=("b",))
    response, exchange = await h.complete()
    assert response.content == [TextBlock(text="b")]
    assert [(a["provider"], a["result"]) for a in exchange.attempts] == [("a", "unavailable"), ("a", "timeout"), ("b", "ok")]
    assert exchange.failed_over is True and exchange.provider == "b"


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
    response, exchange = await h.complete()
    assert response.content == [TextBlock(text="b")] and len(exchange.attempts) == 2 and h.sleeps == []


async def test_when_every_target_fails_the_last_error_is_raised() -> None:
    h = Harness(FakeProvider("a", *[err(ErrorKind.UPSTREAM, 500)] * 2), FakeProvider("b", *[err(ErrorKind.OVERLOADED, 529)] * 2),
                fallbacks=("b",))
    with pytest.raises(GatewayError) as info:
        await h.complete()
    assert info.value.kind is ErrorKind.OVERLOADED


async def test_circuit_opens_skips_the_provider_then_probes_and_closes() -> None:
    h = Harness(FakeProvider("a", *[err(ErrorKind.UPSTREAM, 500)] * 3), FakeProvider("b"), fallbacks=("b",), attempts=1, failures=3)
    for _ in range(3):
        await h.complete()
    assert ("a", "open") in h.changes
    calls = h.providers["a"].calls
    _, exchange = await h.complete()
    assert h.providers["a"].calls == calls  # skipped while open
    assert exchange.provider == "b" and exchange.failed_over is True  # a fallback stood in for the open pool
    h.clock.now += 31  # cool-down over: one probe goes to a, succeeds, closes the circuit
    _, exchange = await h.complete()
    assert exchange.provider == "a"
    assert h.changes[-2:] == [("a", "half_open"), ("a", "closed")]


async def test_all_circuits_open_is_an_overload_with_retry_after() -> None:
    h = Harness(FakeProvider("a", *[err(ErrorKind.UNAVAILABLE)] * 3), attempts=1, failures=3)
    for _ in range(3):
        with pytest.raises(GatewayError):
            await h.complete()
    with pytest.raises(GatewayError) as info:
        await h.complete()
    assert info.value.kind is ErrorKind.OVERLOADED and info.value.retry_after == 30
    assert "circuit" in info.value.message


async def test_a_half_open_probe_abandoned_by_the_client_frees_the_slot() -> None:
    h = Harness(FakeProvider("a", *[err(ErrorKind.UPSTREAM, 500)] * 3, delay=0), attempts=1, failures=3)
    for _ in range(3):
        with pytest.raises(GatewayError):
            await h.complete()
    h.clock.now += 31
    h.providers["a"].delay = 10
    task = asyncio.ensure_future(h.complete())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    h.providers["a"].delay = 0
    response, _ = await h.complete()  # the probe slot is free again
    assert response.content == [TextBlock(text="a")]


async def test_a_response_slower_than_total_fails_over() -> None:
    h = Harness(FakeProvider("a", delay=1.0), FakeProvider("b"), fallbacks=("b",), attempts=1, total=0.05)
    response, exchange = await h.complete()
    assert response.content == [TextBlock(text="b")]
    assert exchange.attempts[0]["result"] == "timeout"


async def test_first_byte_bounds_a_stream_not_a_whole_response() -> None:
    slow = Harness(FakeProvider("a", delay=0.1), attempts=1, first_byte=0.05, total=5.0)
    response, _ = await slow.complete()  # non-streaming: total applies
    assert response.content == [TextBlock(text="a")]
    h = Harness(FakeProvider("a", delay=1.0), FakeProvider("b"), fallbacks=("b",), attempts=1, first_byte=0.05)
    _, exchange = await h.stream()
    assert exchange.provider == "b" and exchange.attempts[0]["result"] == "timeout"


async def test_a_local_token_count_neither_probes_nor_is_refused_by_a_circuit() -> None:
    provider = FakeProvider("a", *[err(ErrorKind.UPSTREAM, 500)] * 3)
    provider.counts_locally = True  # type: ignore[attr-defined]
    h = Harness(provider, attempts=1, failures=3)
    for _ in range(3):
        with pytest.raises(GatewayError):
            await h.complete()
    assert ("a", "open") in h.changes
    assert await h.service.count_tokens(REQUEST, Exchange()) == 1  # served while open
    h.clock.now += 31
    await h.service.count_tokens(REQUEST, Exchange())
    assert h.service._breakers.get("a").state != "closed"  # noqa: SLF001 - the estimate closed nothing


async def test_an_unset_key_never_opens_the_circuit() -> None:
    h = Harness(FakeProvider("a", *[err(ErrorKind.CONFIGURATION)] * 10), attempts=1, failures=3)
    for _ in range(6):
        with pytest.raises(GatewayError) as info:
            await h.complete()
        assert info.value.kind is ErrorKind.CONFIGURATION
    assert h.changes == []


async def test_a_client_error_frame_mid_stream_does_not_count_against_the_circuit() -> None:
    frame = StreamError(kind=ErrorKind.INVALID_REQUEST.value, message="bad")
    h = Harness(FakeProvider("a", *[[*text_events()[:2], frame]] * 3), failures=1)
    for _ in range(3):
        events, exchange = await h.stream()
        assert events[-1] == frame and exchange.stream_error == "invalid_request"
    assert h.changes == []


async def test_weighted_targets_split_traffic_and_skip_an_open_circuit() -> None:
    h = Harness(FakeProvider("a"), FakeProvider("b"), targets=(("a", 3.0), ("b", 1.0)))
    served = [(await h.complete())[1].provider for _ in range(400)]
    assert 0.65 < served.count("a") / 400 < 0.85
    h.service._breakers.get("a").state = "open"  # noqa: SLF001 - force the circuit open
    h.service._breakers.get("a")._opened_at = h.clock.now  # noqa: SLF001
    assert {(await h.complete())[1].provider for _ in range(20)} == {"b"}


async def test_stream_failure_before_the_first_event_fails_over() -> None:
    h = Harness(FakeProvider("a", err(ErrorKind.OVERLOADED, 529)), FakeProvider("b"), fallbacks=("b",), attempts=1)
    events, exchange = await h.stream()
    assert isinstance(events[0], MessageStart) and isinstance(events[-1], MessageStop)
    assert exchange.provider == "b" and exchange.failed_over


async def test_stream_error_frame_as_first_event_fails_over() -> None:
    first = StreamError(kind=ErrorKind.OVERLOADED.value, message="busy")
    h = Harness(FakeProvider("a", [first]), FakeProvider("b"), fallbacks=("b",), attempts=1)
    _, exchange = await h.stream()
    assert exchange.provider == "b"
    assert h.providers["a"].closed == 1


async def test_stream_failure_after_the_first_event_is_not_retried() -> None:
    steps = [*text_events()[:3], err(ErrorKind.UNAVAILABLE)]
    h = Harness(FakeProvider("a", steps), FakeProvider("b"), fallbacks=("b",))
    events, exchange = await h.stream()
    assert isinstance(events[-1], StreamError) and events[-1].kind == "unavailable"
    assert h.providers["b"].calls == 0 and len(exchange.attempts) == 1
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
    exchange = Exchange()
    events = await h.service.stream(REQUEST, exchange)
    received = []
    async with aclosing(events):  # type: ignore[type-var]
        async for event in events:
            received.append(event)
            await asyncio.sleep(0.06)  # the consumer is slower than the idle limit
    assert isinstance(received[-1], MessageStop)


async def test_usage_on_the_stream_reaches_the_exchange() -> None:
    from domain.ir import Usage

    steps = [MessageStart(id="x", model="m", usage=Usage(input_tokens=5)), MessageDelta(stop_reason="end_turn",
             usage=Usage(output_tokens=7)), MessageStop()]
    h = Harness(FakeProvider("a", steps))
    _, exchange = await h.stream()
    assert (exchange.input_tokens, exchange.output_tokens) == (5, 7)
