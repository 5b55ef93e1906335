"""The pool strategies: ``cheapest`` by the price table, ``fastest`` by recent latency (a fake
clock: each fake provider moves it by its latency), ``weighted`` untouched."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import aclosing

import msgspec

from domain.circuits import Breakers, BreakerSettings
from domain.errors import ErrorKind, GatewayError
from domain.ir import (
    AnyEvent,
    ChatRequest,
    ChatResponse,
    Message,
    MessageDelta,
    MessageStart,
    MessageStop,
    TextBlock,
)
from domain.latency import Latencies
from domain.pricing import Price
from domain.request_record import RequestRecord
from domain.resilience import ProviderPolicy, RetryPolicy
from domain.routing import Destination, Route, RoutingTable, Strategy, Target, attempt_order
from domain.service import ChatService

REQUEST = ChatRequest(model="m", messages=[Message(role="user", content=[TextBlock(text="hi")])])
POOL = Route(targets=(Target("a", "m"), Target("b", "m"), Target("c", "m")), fallbacks=(Target("z", "m"),))


def test_a_ranked_pool_is_tried_by_rank_then_the_fallbacks() -> None:
    rank = {"a": 3.0, "b": 1.0, "c": 2.0}
    order, skipped = attempt_order(POOL, lambda t: True, random.Random(0), lambda t: rank[t.provider])
    assert [t.provider for t in order] == ["b", "c", "a", "z"] and skipped == []


def test_a_ranked_pool_skips_unavailable_targets_and_keeps_config_order_among_equals() -> None:
    order, skipped = attempt_order(POOL, lambda t: t.provider != "a", random.Random(0), lambda t: 0.0)
    assert [t.provider for t in order] == ["b", "c", "z"] and [t.provider for t in skipped] == ["a"]


def test_exploration_sends_a_small_share_to_another_target_first() -> None:
    rng = random.Random(3)
    rank = {"a": 1.0, "b": 2.0, "c": 3.0}
    firsts = Counter(
        attempt_order(POOL, lambda t: True, rng, lambda t: rank[t.provider], explore=0.05)[0][0].provider
        for _ in range(4000)
    )
    assert 0.03 < (firsts["b"] + firsts["c"]) / 4000 < 0.07 and firsts["b"] > 0 and firsts["c"] > 0


def test_latencies_are_an_exponentially_weighted_average() -> None:
    latencies = Latencies(alpha=0.3)
    key = ("a", "m", False)
    assert latencies.estimate(key) is None
    latencies.observe(key, 1.0)
    latencies.observe(key, 2.0)
    assert latencies.estimate(key) == 1.3  # 1.0 + 0.3 * (2.0 - 1.0)
    assert latencies.estimate(("a", "m", True)) is None  # streams are kept apart


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Provider:
    """Answers at once, moving the fake clock by ``latency`` (a stream: before its first event,
    and ``tail`` more after it); ``failing`` makes it answer 500."""

    protocol = "openai"
    counts_locally = False

    def __init__(self, name: str, clock: Clock, latency: float = 0.1, tail: float = 0.0) -> None:
        self.name, self.clock, self.latency, self.tail = name, clock, latency, tail
        self.failing = False
        self.served = 0

    async def complete(self, request: ChatRequest, model: str) -> ChatResponse:
        self.clock.now += self.latency
        if self.failing:
            raise GatewayError(ErrorKind.UPSTREAM, "scripted 500", status=500)
        self.served += 1
        return ChatResponse(id="r", model=model, content=[TextBlock(text=self.name)])

    async def stream(self, request: ChatRequest, model: str) -> AsyncIterator[AnyEvent]:
        self.clock.now += self.latency
        self.served += 1
        yield MessageStart(id="s", model=model)
        self.clock.now += self.tail
        yield MessageDelta(stop_reason="end_turn")
        yield MessageStop()

    async def count_tokens(self, request: ChatRequest, model: str) -> int:
        return 1


def service(strategy: Strategy, *providers: Provider, prices: dict[str, Price] | None = None,
            clock: Clock | None = None, breaker: BreakerSettings | None = None) -> ChatService:
    pool = tuple(Target(provider=p.name, model=f"{p.name}-model") for p in providers)
    table = RoutingTable(default=Destination(targets=pool, strategy=strategy))

    class Table:
        def price(self, provider: str, model: str) -> Price | None:
            return (prices or {}).get(provider)

    policy = ProviderPolicy(retry=RetryPolicy(attempts=1))
    settings = breaker or BreakerSettings(enabled=False)

    async def no_sleep(seconds: float) -> None:
        pass

    return ChatService(
        table, {p.name: p for p in providers}, breakers=Breakers({p.name: settings for p in providers}),
        policies={p.name: policy for p in providers}, rng=random.Random(11), sleep=no_sleep,
        prices=Table(), latencies=Latencies(), clock=clock or Clock(),
    )


async def serve(svc: ChatService, n: int) -> Counter[str]:
    served: Counter[str] = Counter()
    for _ in range(n):
        record = RequestRecord()
        await svc.complete(REQUEST, record)
        served[record.provider or ""] += 1
    return served


CHEAP, DEAR = Price(input=0.1, output=0.4), Price(input=1.0, output=4.0)


async def test_cheapest_sends_everything_to_the_cheaper_target_while_it_is_healthy() -> None:
    clock = Clock()
    dear, cheap = Provider("dear", clock), Provider("cheap", clock)
    svc = service("cheapest", dear, cheap, prices={"dear": DEAR, "cheap": CHEAP})
    assert await serve(svc, 50) == Counter({"cheap": 50})


async def test_cheapest_fails_over_to_the_dearer_target() -> None:
    clock = Clock()
    dear, cheap = Provider("dear", clock), Provider("cheap", clock)
    svc = service("cheapest", dear, cheap, prices={"dear": DEAR, "cheap": CHEAP})
    cheap.failing = True
    record = RequestRecord()
    await svc.complete(REQUEST, record)
    assert (record.provider, record.failed_over) == ("dear", True)
    assert [a["provider"] for a in record.attempts] == ["cheap", "dear"]


async def test_cheapest_passes_over_an_open_circuit_and_returns_when_it_closes() -> None:
    clock = Clock()
    dear, cheap = Provider("dear", clock), Provider("cheap", clock)
    breaker = BreakerSettings(consecutive_failures=2, min_requests=10_000, cooldown=30.0)
    svc = service("cheapest", dear, cheap, prices={"dear": DEAR, "cheap": CHEAP}, breaker=breaker)
    cheap.failing = True
    await serve(svc, 2)  # two failed attempts on cheap: its circuit opens
    tried = cheap.served, dear.served
    record = RequestRecord()
    await svc.complete(REQUEST, record)
    assert record.attempts[0]["provider"] == "dear" and tried == (0, 2)


async def test_an_unpriced_target_sorts_after_the_priced_ones() -> None:
    clock = Clock()
    mystery, dear = Provider("mystery", clock), Provider("dear", clock)
    svc = service("cheapest", mystery, dear, prices={"dear": DEAR})
    assert await serve(svc, 5) == Counter({"dear": 5})


async def test_fastest_measures_unknown_targets_first_then_prefers_the_quickest() -> None:
    clock = Clock()
    slow, quick = Provider("slow", clock, latency=0.5), Provider("quick", clock, latency=0.1)
    svc = service("fastest", slow, quick, clock=clock)
    first_two = await serve(svc, 2)
    assert first_two == Counter({"slow": 1, "quick": 1})  # each measured once
    served = await serve(svc, 400)
    assert served["quick"] > 360 and served["slow"] > 0  # about 5 % explore


async def test_fastest_moves_traffic_away_from_a_target_that_slows_down_and_back_when_it_recovers() -> None:
    clock = Clock()
    a, b = Provider("a", clock, latency=0.1), Provider("b", clock, latency=0.5)
    svc = service("fastest", a, b, clock=clock)
    before = await serve(svc, 200)
    a.latency = 2.0
    await serve(svc, 5)  # a's average climbs past b's
    during = await serve(svc, 200)
    a.latency = 0.1
    await serve(svc, 200)  # exploration sees a again: its average falls
    after = await serve(svc, 200)
    assert before["a"] > 180 and during["b"] > 180 and after["a"] > 180


async def test_fastest_ranks_streams_by_time_to_first_event() -> None:
    clock = Clock()
    # a: first event after 0.1 s but 5 s in all; b: 0.3 s to the first event, nothing after
    a, b = Provider("a", clock, latency=0.1, tail=5.0), Provider("b", clock, latency=0.3)
    svc = service("fastest", a, b, clock=clock)
    firsts: Counter[str] = Counter()
    for _ in range(100):
        record = RequestRecord()
        events = await svc.stream(msgspec.structs.replace(REQUEST, stream=True), record)
        async with aclosing(events):  # type: ignore[type-var]
            _ = [e async for e in events]
        firsts[record.provider or ""] += 1
    assert firsts["a"] > 90


async def test_weighted_stays_the_default() -> None:
    assert Destination(targets=(Target("a"),)).strategy == "weighted"
