"""The Redis store's own behaviour: its Lua calendar agrees with the domain's, and an outage
either falls back to this process (one warning) or refuses (deny)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import structlog
from redis import asyncio as aioredis

from adapters.state.redis import RedisState
from adapters.state.redis_scripts import PERIOD_INDEX
from domain.policy.periods import period_index
from domain.policy.ports import Settlement, StateUnavailable
from tests.redis_support import RedisSpace

DEAD_URL = "redis://127.0.0.1:1/11"  # nothing listens on port 1
LIMITS = {"rpm": 1, "concurrent": None, "budget_usd": None, "budget_period": "total"}


@pytest.mark.parametrize(
    "moment",
    ["1970-01-01T00:00:00", "2026-12-02T23:59:59", "2026-12-31T23:59:59", "2027-01-01T00:00:00",
     "2028-02-29T12:00:00", "2028-03-01T00:00:00", "2000-02-29T00:00:00", "2100-03-01T00:00:00"],
)  # fmt: skip
async def test_the_lua_calendar_matches_the_domain(redis_space: RedisSpace, moment: str) -> None:
    second = int(datetime.fromisoformat(moment).replace(tzinfo=UTC).timestamp())
    client = aioredis.Redis.from_url(redis_space.url, decode_responses=True)
    try:
        for period in ("day", "week", "month", "total"):
            script = PERIOD_INDEX + "return period_index(ARGV[1], tonumber(ARGV[2]))"
            assert await client.eval(script, 0, period, second) == period_index(period, second), period
    finally:
        await client.aclose()


async def test_an_outage_counts_in_this_process_and_warns_once() -> None:
    state = RedisState(DEAD_URL, prefix="test-i12p-dead:")
    try:
        with structlog.testing.capture_logs() as logs:
            assert (await state.admit("k", "t1", **LIMITS)).refused is None  # type: ignore[arg-type]
            assert (await state.admit("k", "t2", **LIMITS)).refused == "rpm"  # type: ignore[arg-type]
            await state.settle("k", Settlement(None, None, 0, 1, 1, 0.1, "total"))
        warnings = [line for line in logs if line["event"] == "state.redis_unavailable"]
        assert len(warnings) == 1
        assert "127.0.0.1:1" not in str(logs)  # the URL (it may hold a password) is never logged
    finally:
        await state.aclose()


async def test_an_outage_refuses_with_deny() -> None:
    state = RedisState(DEAD_URL, prefix="test-i12p-dead:", on_unavailable="deny")
    try:
        with pytest.raises(StateUnavailable):
            await state.admit("k", "t1", **LIMITS)  # type: ignore[arg-type]
        with pytest.raises(StateUnavailable):  # also while it waits to ask Redis again
            await state.admit_tokens("k", tpm=10, tokens=1)
    finally:
        await state.aclose()


async def test_what_was_counted_during_an_outage_reaches_redis_when_it_answers(redis_space: RedisSpace) -> None:
    state = RedisState(redis_space.url, prefix=redis_space.prefix)
    try:
        state._down, state._retry_at = True, 0.0  # an outage that has just ended
        await state.fallback.settle("k", Settlement(None, None, 0, 3, 4, 0.5, "month"))
        await state.usage("k", "month")  # Redis answers: the outage's counts are added
        usage = await state.usage("k", "month")
        assert (usage.requests, usage.input_tokens, usage.output_tokens) == (1, 3, 4)
        assert usage.spend_usd == pytest.approx(0.5)
    finally:
        await state.aclose()
