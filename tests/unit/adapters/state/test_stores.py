"""The policy's state port, one contract for both stores: in-process and the real Redis.

Each case runs against ``MemoryState`` and ``RedisState`` (database 11, a prefix of its own);
without Redis the Redis half skips with the reason (tests/redis_support.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from adapters.state.memory import MemoryState
from adapters.state.redis import RedisState
from domain.policy.ports import PolicyState, Settlement
from tests.redis_support import RedisSpace

NO_LIMITS = {"rpm": None, "concurrent": None, "budget_usd": None, "budget_period": "total"}


def settlement(*, ticket: str | None = None, second: int | None = None, estimated: int = 0, inp: int = 0,
               out: int = 0, cost: float = 0.0, period: str = "total") -> Settlement:  # fmt: skip
    return Settlement(ticket, second, estimated, inp, out, cost, period)


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[PolicyState]:
    if request.param == "memory":
        yield MemoryState()
        return
    space: RedisSpace = request.getfixturevalue("redis_space")
    state = RedisState(space.url, prefix=space.prefix)
    yield state
    await state.aclose()


async def test_rpm_admits_exactly_its_limit_in_a_minute(store: PolicyState) -> None:
    limits = {**NO_LIMITS, "rpm": 3}
    answers = [await store.admit("k", f"t{i}", **limits) for i in range(4)]  # type: ignore[arg-type]
    assert [a.refused for a in answers] == [None, None, None, "rpm"]
    assert [a.requests_remaining for a in answers[:3]] == [2, 1, 0]
    assert 0 < answers[3].retry_after <= 60
    assert 0 < answers[0].requests_reset <= 60


async def test_rpm_holds_under_a_burst_of_simultaneous_requests(store: PolicyState) -> None:
    limits = {**NO_LIMITS, "rpm": 10}
    answers = await asyncio.gather(*(store.admit("k", f"t{i}", **limits) for i in range(25)))  # type: ignore[arg-type]
    assert sum(a.refused is None for a in answers) == 10


async def test_keys_count_apart(store: PolicyState) -> None:
    limits = {**NO_LIMITS, "rpm": 1}
    assert (await store.admit("a", "t1", **limits)).refused is None  # type: ignore[arg-type]
    assert (await store.admit("b", "t2", **limits)).refused is None  # type: ignore[arg-type]
    assert (await store.admit("a", "t3", **limits)).refused == "rpm"  # type: ignore[arg-type]


async def test_concurrent_slots_are_taken_and_given_back(store: PolicyState) -> None:
    limits = {**NO_LIMITS, "concurrent": 2}
    assert (await store.admit("k", "t1", **limits)).refused is None  # type: ignore[arg-type]
    assert (await store.admit("k", "t2", **limits)).refused is None  # type: ignore[arg-type]
    refused = await store.admit("k", "t3", **limits)  # type: ignore[arg-type]
    assert refused.refused == "concurrent" and refused.retry_after > 0
    await store.settle("k", settlement(ticket="t1"))
    assert (await store.admit("k", "t4", **limits)).refused is None  # type: ignore[arg-type]
    assert (await store.usage("k", "total")).in_flight == 2


async def test_a_request_refused_for_concurrency_does_not_use_the_minute(store: PolicyState) -> None:
    limits = {**NO_LIMITS, "concurrent": 1, "rpm": 2}
    assert (await store.admit("k", "t1", **limits)).refused is None  # type: ignore[arg-type]
    assert (await store.admit("k", "t2", **limits)).refused == "concurrent"  # type: ignore[arg-type]
    await store.settle("k", settlement(ticket="t1"))
    assert (await store.admit("k", "t3", **limits)).refused is None  # type: ignore[arg-type]


async def test_tpm_admits_on_the_estimate_and_settles_with_the_real_count(store: PolicyState) -> None:
    first = await store.admit_tokens("k", tpm=100, tokens=60)
    assert not first.refused and first.remaining == 40
    second = await store.admit_tokens("k", tpm=100, tokens=30)
    assert not second.refused and second.remaining == 10
    refused = await store.admit_tokens("k", tpm=100, tokens=20)
    assert refused.refused and 0 < refused.retry_after <= 60
    # the first request really used 5 + 5 tokens: 50 of its estimate come back
    await store.settle("k", settlement(second=first.second, estimated=60, inp=5, out=5))
    again = await store.admit_tokens("k", tpm=100, tokens=20)
    assert not again.refused and again.remaining == 100 - 10 - 30 - 20
    assert (await store.usage("k", "total")).tokens_last_minute == 60


async def test_an_empty_minute_admits_one_request_larger_than_the_limit(store: PolicyState) -> None:
    assert not (await store.admit_tokens("k", tpm=100, tokens=500)).refused
    assert (await store.admit_tokens("k", tpm=100, tokens=1)).refused


async def test_spend_accrues_and_the_budget_refuses_once_reached(store: PolicyState) -> None:
    budget = {**NO_LIMITS, "budget_usd": 1.0, "budget_period": "month"}
    assert (await store.admit("k", "t1", **budget)).refused is None  # type: ignore[arg-type]
    await store.settle("k", settlement(cost=0.6, period="month", inp=100, out=20))
    admitted = await store.admit("k", "t2", **budget)  # type: ignore[arg-type]
    assert admitted.refused is None and admitted.spend == pytest.approx(0.6)
    await store.settle("k", settlement(cost=0.4, period="month", inp=10, out=2))
    refused = await store.admit("k", "t3", **budget)  # type: ignore[arg-type]
    assert refused.refused == "budget" and refused.spend == pytest.approx(1.0)
    usage = await store.usage("k", "month")
    assert (usage.requests, usage.input_tokens, usage.output_tokens) == (2, 110, 22)
    assert usage.spend_usd == pytest.approx(1.0)
    assert (await store.usage("k", "day")).requests == 0  # another period: counted apart


async def test_usage_of_an_unknown_key_is_zero(store: PolicyState) -> None:
    usage = await store.usage("nobody", "total")
    assert (usage.requests, usage.spend_usd, usage.in_flight, usage.requests_last_minute) == (0, 0.0, 0, 0)
