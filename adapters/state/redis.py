"""The policy's state in Redis, shared by every worker and replica (``state.redis_url``).

Each operation is a Lua function (``redis_scripts.py``): atomic, on Redis's clock. The
operations that concurrent requests make in one pass of the event loop go to Redis together, as
one invocation of the ``BATCH`` script (``redis_batch.py``): one round trip, and the client's
cost of one command, for all of them. When Redis
cannot be reached, ``on_unavailable: allow`` counts in this process meanwhile (a warning once
per outage; Redis is asked again every ``RETRY_EVERY`` seconds, and what was counted meanwhile
is added to Redis when it answers again), and ``deny`` refuses requests with a 503.
The URL (it may hold a password) is never logged.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
import structlog
from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from adapters.state.memory import MemoryState
from adapters.state.redis_batch import Batcher
from adapters.state.redis_scripts import BATCH, USAGE
from domain.policy.ports import Admission, KeyUsage, Settlement, StateUnavailable, TokenAdmission

log = structlog.get_logger("gateway.state")

RETRY_EVERY = 1.0  # seconds between attempts to reach Redis again during an outage
STALE_SLOT = 3600  # seconds after which a slot never released (a crashed replica) is dropped
_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(list[Any]).decode


class RedisState:
    def __init__(self, url: str, *, prefix: str = "gateway:", on_unavailable: str = "allow",
                 fallback: MemoryState | None = None) -> None:  # fmt: skip
        self._redis: Any = aioredis.Redis.from_url(
            url, socket_connect_timeout=0.5, socket_timeout=2.0, decode_responses=True
        )
        self.prefix = prefix
        self.deny = on_unavailable == "deny"
        self.fallback = fallback or MemoryState()
        self._batch_script = self._redis.register_script(BATCH)
        self._batch = Batcher(self._send_batch)
        self._usage = self._redis.register_script(USAGE)
        self._down = False
        self._retry_at = 0.0
        self._unreleased: list[tuple[str, str]] = []  # slots held in Redis, released during an outage

    def _keys(self, key: str, *kinds: str) -> list[str]:
        return [f"{self.prefix}{kind}:{key}" for kind in kinds]

    def _use_prefix(self, key: str) -> str:
        return f"{self.prefix}use:{key}:"

    async def _call(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        """Run ``script``; None when Redis is unreachable (after the outage bookkeeping)."""
        if self._down and time.monotonic() < self._retry_at:
            if self.deny:
                raise StateUnavailable()
            return None
        try:
            result = await script(keys=keys, args=args)
        except _UNREACHABLE as exc:
            self._retry_at = time.monotonic() + RETRY_EVERY
            if not self._down:
                self._down = True
                log.warning(
                    "state.redis_unavailable",
                    error=type(exc).__name__,
                    detail="limits and budgets are refused (state.on_unavailable: deny)" if self.deny
                    else "limits and budgets are counted in this process until Redis answers again",
                )  # fmt: skip
            if self.deny:
                raise StateUnavailable() from None
            return None
        if self._down:
            self._down = False
            log.warning("state.redis_recovered")
            await self._replay()
        return result

    async def _send_batch(self, keys: list[str], ops: list[list[Any]]) -> list[Any] | None:
        """One ``BATCH`` script for the operations of a pass (None: Redis is unreachable)."""
        reply = await self._call(self._batch_script, keys, [_encode(ops)])
        return None if reply is None else _decode(reply)

    async def _replay(self) -> None:
        """Add to Redis what was counted in this process during the outage."""
        usage = self.fallback.take_usage()
        unreleased, self._unreleased = self._unreleased, []
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for (key, label), (requests, inp, out, usd) in usage.items():
                    name = f"{self._use_prefix(key)}{label}"
                    pipe.hincrby(name, "requests", int(requests))
                    pipe.hincrby(name, "input_tokens", int(inp))
                    pipe.hincrby(name, "output_tokens", int(out))
                    pipe.hincrbyfloat(name, "spend_usd", float(usd))
                for key, ticket in unreleased:
                    pipe.zrem(f"{self.prefix}conc:{key}", ticket)
                await pipe.execute()
        except _UNREACHABLE:
            log.warning("state.redis_replay_failed")

    # ---- the port ----------------------------------------------------------------------------
    async def admit(
        self,
        key: str,
        ticket: str,
        *,
        rpm: int | None,
        concurrent: int | None,
        budget_usd: float | None,
        budget_period: str,
    ) -> Admission:
        op = ["admit", self._use_prefix(key), rpm or 0, concurrent or 0,
              -1 if budget_usd is None else budget_usd, budget_period, ticket, STALE_SLOT]  # fmt: skip
        result = await self._batch.submit(self._keys(key, "rpm", "conc"), op)
        if result is None:
            return await self.fallback.admit(key, ticket, rpm=rpm, concurrent=concurrent,
                                             budget_usd=budget_usd, budget_period=budget_period)  # fmt: skip
        refused, retry, remaining, reset, spend, now = result
        return Admission(
            refused or None, float(retry), None if int(remaining) < 0 else int(remaining), float(reset),
            float(spend), float(now),
        )  # fmt: skip

    async def admit_tokens(self, key: str, *, tpm: int, tokens: int) -> TokenAdmission:
        result = await self._batch.submit(self._keys(key, "tpm"), ["tokens", tpm, tokens])
        if result is None:
            return await self.fallback.admit_tokens(key, tpm=tpm, tokens=tokens)
        refused, retry, remaining, reset, second = result
        return TokenAdmission(bool(int(refused)), float(retry), int(remaining), float(reset), int(second))

    async def settle(self, key: str, settlement: Settlement) -> None:
        s = settlement
        op = ["settle", self._use_prefix(key), s.usage_period, s.concurrent_ticket or "",
              -1 if s.tpm_second is None else s.tpm_second, s.estimated_tokens, s.input_tokens,
              s.output_tokens, repr(s.cost_usd)]  # fmt: skip
        try:
            result = await self._batch.submit(self._keys(key, "conc", "tpm"), op)
        except StateUnavailable:
            result = None
        if result is None:
            if s.concurrent_ticket is not None:
                self._unreleased.append((key, s.concurrent_ticket))
            await self.fallback.settle(key, s)

    async def usage(self, key: str, period: str) -> KeyUsage:
        keys = self._keys(key, "rpm", "conc", "tpm")
        result = await self._call(self._usage, keys, [self._use_prefix(key), period])
        if result is None:
            return await self.fallback.usage(key, period)
        requests, inp, out, usd, in_flight, last_minute, tokens = result
        return KeyUsage(
            int(requests), int(inp), int(out), float(usd), int(in_flight), int(last_minute), int(tokens)
        )

    async def flush(self) -> None:
        await self._batch.drain()
        await self.fallback.flush()

    async def aclose(self) -> None:
        await self._batch.drain()  # nothing waiting is lost: settlements give back slots
        await self._redis.aclose()
