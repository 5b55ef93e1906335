"""The Redis store's batching, on the real Redis (database 11): the calls that concurrent
requests make in one pass of the event loop go to Redis as one script run, each caller gets its
own verdict, in the order of the calls, and an outage reaches every caller of a batch.

One script run is seen from Redis's side: every verdict of a batch carries the same reading of
Redis's clock, and the store needs no more than one connection for a burst (one command at a
time), counted in ``CLIENT LIST`` by the connection's name.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import structlog
from redis import asyncio as aioredis

from adapters.state.redis import RedisState
from domain.policy.ports import Settlement, StateUnavailable
from tests.redis_support import RedisSpace

DEAD_URL = "redis://127.0.0.1:1/11"  # nothing listens on port 1
NO_LIMITS: dict[str, Any] = {"rpm": None, "concurrent": None, "budget_usd": None, "budget_period": "total"}


def named(space: RedisSpace) -> tuple[RedisState, str]:
    name = f"{space.prefix.rstrip(':')}-state"
    return RedisState(f"{space.url}?client_name={name}", prefix=space.prefix), name


async def connections(space: RedisSpace, name: str) -> int:
    client = aioredis.Redis.from_url(space.url)
    try:
        return sum(1 for entry in await client.client_list() if entry["name"] == name)
    finally:
        await client.aclose()


async def test_a_burst_of_admissions_is_one_script_run_in_the_order_of_the_calls(redis_space: RedisSpace) -> None:
    state, name = named(redis_space)
    try:
        limits = {**NO_LIMITS, "rpm": 10}
        answers = await asyncio.gather(*(state.admit("k", f"t{i}", **limits) for i in range(25)))
        assert [a.refused for a in answers] == [None] * 10 + ["rpm"] * 15  # exactly rpm let through
        assert [a.requests_remaining for a in answers[:10]] == list(range(9, -1, -1))
        assert len({a.now for a in answers}) == 1  # one reading of Redis's clock: one script run
        assert await connections(redis_space, name) == 1
    finally:
        await state.aclose()


async def test_a_pass_mixing_settlements_admissions_and_tokens_runs_them_in_order(redis_space: RedisSpace) -> None:
    state, name = named(redis_space)
    try:
        one_slot = {**NO_LIMITS, "concurrent": 1}
        assert (await state.admit("k", "t0", **one_slot)).refused is None
        settled, admitted, first, second = await asyncio.gather(
            state.settle("k", Settlement("t0", None, 0, 1, 2, 0.0, "total")),  # gives the slot back
            state.admit("k", "t1", **one_slot),  # so this one gets it
            state.admit_tokens("k", tpm=100, tokens=60),
            state.admit_tokens("k", tpm=100, tokens=60),  # over the minute's 100 with the first
        )
        assert settled is None and admitted.refused is None
        assert (first.refused, second.refused) == (False, True)
        assert first.second == second.second  # one reading of the clock
        usage = await state.usage("k", "total")
        assert (usage.requests, usage.input_tokens, usage.output_tokens, usage.in_flight) == (1, 1, 2, 1)
        assert await connections(redis_space, name) == 1
    finally:
        await state.aclose()


async def test_a_burst_across_keys_keeps_each_keys_limit(redis_space: RedisSpace) -> None:
    state = RedisState(redis_space.url, prefix=redis_space.prefix)
    try:
        limits = {**NO_LIMITS, "rpm": 2}
        keys = [key for _ in range(4) for key in "abc"]
        answers = await asyncio.gather(*(state.admit(key, f"t{i}", **limits) for i, key in enumerate(keys)))
        assert [key for key, a in zip(keys, answers, strict=True) if a.refused is None] == list("abcabc")
    finally:
        await state.aclose()


async def test_a_caller_that_leaves_does_not_stop_the_others_verdicts(redis_space: RedisSpace) -> None:
    state = RedisState(redis_space.url, prefix=redis_space.prefix)
    try:
        limits = {**NO_LIMITS, "rpm": 3}
        tasks = [asyncio.create_task(state.admit("k", f"t{i}", **limits)) for i in range(3)]
        await asyncio.sleep(0)  # all three have made their call
        tasks[0].cancel()
        assert [(await t).refused for t in tasks[1:]] == [None, None]
        assert (await state.usage("k", "total")).requests_last_minute == 3  # its call was made
    finally:
        await state.aclose()


async def test_settlements_waiting_at_close_reach_redis(redis_space: RedisSpace) -> None:
    state = RedisState(redis_space.url, prefix=redis_space.prefix)
    tasks = [asyncio.create_task(state.settle("k", Settlement(None, None, 0, 1, 1, 0.25, "total")))
             for _ in range(5)]  # fmt: skip
    await asyncio.sleep(0)  # made, not yet sent
    await state.aclose()
    await asyncio.gather(*tasks)
    reader = RedisState(redis_space.url, prefix=redis_space.prefix)
    try:
        usage = await reader.usage("k", "total")
        assert (usage.requests, usage.spend_usd) == (5, pytest.approx(1.25))
    finally:
        await reader.aclose()


async def test_an_outage_gives_every_caller_of_a_batch_the_in_process_verdict() -> None:
    state = RedisState(DEAD_URL, prefix="test-i12p-dead:")
    try:
        limits = {**NO_LIMITS, "rpm": 3}
        with structlog.testing.capture_logs() as logs:
            answers = await asyncio.gather(*(state.admit("k", f"t{i}", **limits) for i in range(5)))
            settled = await asyncio.gather(*(state.settle("k", Settlement(None, None, 0, 1, 1, 0.0, "total"))
                                             for _ in range(3)))  # fmt: skip
        assert [a.refused for a in answers] == [None, None, None, "rpm", "rpm"]
        assert settled == [None, None, None]
        assert (await state.fallback.usage("k", "total")).requests == 3
        assert len([line for line in logs if line["event"] == "state.redis_unavailable"]) == 1
    finally:
        await state.aclose()


async def test_an_outage_with_deny_refuses_every_caller_of_a_batch() -> None:
    state = RedisState(DEAD_URL, prefix="test-i12p-dead:", on_unavailable="deny")
    try:
        calls = [state.admit("k", f"t{i}", **{**NO_LIMITS, "rpm": 3}) for i in range(3)]
        calls += [state.admit_tokens("k", tpm=10, tokens=1) for _ in range(2)]
        answers = await asyncio.gather(*calls, return_exceptions=True)
        assert all(isinstance(a, StateUnavailable) for a in answers)
        assert len({id(a) for a in answers}) == len(answers)  # an error of its own each
    finally:
        await state.aclose()


class Cut:
    """A TCP relay to the real Redis that can be cut: its connections closed, new ones refused.
    Armed, it cuts itself when the client next sends a command, which never reaches Redis."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None
        self.armed = False

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, upward: bool) -> None:
            try:
                while data := await src.read(65536):
                    if upward and self.armed:
                        self.cut()
                        return
                    dst.write(data)
                    await dst.drain()
            except OSError:
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer, True), pipe(up_reader, writer, False))

    def cut(self) -> None:
        if self.server is not None:
            self.server.close()
        for writer in self.writers:
            writer.transport.abort()


@pytest.fixture
async def cut(redis_space: RedisSpace) -> AsyncIterator[tuple[Cut, str]]:
    from urllib.parse import urlparse

    parsed = urlparse(redis_space.url)
    relay = Cut((parsed.hostname or "127.0.0.1", parsed.port or 6379))
    port = await relay.start()
    yield relay, parsed._replace(netloc=f"127.0.0.1:{port}").geturl()
    relay.cut()


async def test_redis_lost_with_a_batch_in_flight_falls_back_for_each_caller(
    redis_space: RedisSpace, cut: tuple[Cut, str]
) -> None:
    relay, url = cut
    state = RedisState(url, prefix=redis_space.prefix)
    try:
        limits = {**NO_LIMITS, "rpm": 2}
        assert (await state.admit("k", "t0", **limits)).refused is None  # through Redis
        relay.armed = True  # the next batch is sent, and the connection lost before any answer
        with structlog.testing.capture_logs() as logs:
            answers = await asyncio.gather(*(state.admit("k", f"t{i}", **limits) for i in range(1, 4)))
        # in this process, which had not counted t0: two more, then refused
        assert [a.refused for a in answers] == [None, None, "rpm"]
        assert any(line["event"] == "state.redis_unavailable" for line in logs)
    finally:
        await state.aclose()


async def test_a_burst_beyond_the_batch_size_is_several_script_runs_and_every_caller_is_answered(
    redis_space: RedisSpace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from adapters.state import redis_batch

    monkeypatch.setattr(redis_batch, "MAX_BATCH", 8)
    state, _ = named(redis_space)
    try:
        limits = {**NO_LIMITS, "rpm": 20}
        answers = await asyncio.gather(*(state.admit("k", f"t{i}", **limits) for i in range(30)))
        assert [a.refused for a in answers] == [None] * 20 + ["rpm"] * 10  # still exactly rpm
        runs = [a.now for a in answers]
        assert len(set(runs)) >= 2  # not one script run: several, in order
        assert all(len([n for n in runs if n == now]) <= 8 for now in set(runs))
    finally:
        await state.aclose()
