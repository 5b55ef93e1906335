"""Concurrent requests' calls to Redis, sent together: the calls made during one pass of the
event loop go to Redis as one command, sent once the callbacks ready in that pass have run
(``loop.call_soon``: no timer, no added wait), and each caller's future gets its own result.

``send(keys, ops)`` runs the batch (``RedisState``: the ``BATCH`` script) and returns one
result per operation, or None (Redis is unreachable and the store counts in this process: every
caller falls back), or raises (every caller gets the error). A pass's batch holds at most
``MAX_BATCH`` operations: a burst beyond it is sent as several (each still atomic per operation).
A batch, once taken, is sent by a task of its own, so a caller that goes away (a client that
left) cannot stop the others' calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from domain.policy.ports import StateUnavailable

MAX_BATCH = 256  # operations per script run: a huge burst is several short runs, not one long one
Send = Callable[[list[str], list[list[Any]]], Awaitable[list[Any] | None]]


class Batcher:
    __slots__ = ("_futures", "_keys", "_ops", "_send", "_sending")

    def __init__(self, send: Send) -> None:
        self._send = send
        self._keys: list[str] = []
        self._ops: list[list[Any]] = []
        self._futures: list[asyncio.Future[Any]] = []
        self._sending: set[asyncio.Task[None]] = set()  # batches under way (held: tasks are weak)

    def submit(self, keys: list[str], op: list[Any]) -> asyncio.Future[Any]:
        """Add an operation to this pass's batch; its future gets its result (None: fall back)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if not self._futures:
            loop.call_soon(self._flush)
        self._keys += keys
        self._ops.append(op)
        self._futures.append(future)
        if len(self._futures) >= MAX_BATCH:
            self._flush()  # the call_soon above then finds this pass's later calls, or nothing
        return future

    def _flush(self) -> None:
        if not self._futures:
            return  # already sent (drain)
        keys, ops, futures = self._keys, self._ops, self._futures
        self._keys, self._ops, self._futures = [], [], []
        task = asyncio.get_running_loop().create_task(self._run(keys, ops, futures))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _run(self, keys: list[str], ops: list[list[Any]], futures: list[asyncio.Future[Any]]) -> None:
        try:
            results = await self._send(keys, ops)
        except StateUnavailable:  # deny: every caller is refused
            results = [StateUnavailable() for _ in futures]
        except asyncio.CancelledError:
            for future in futures:
                future.cancel()
            raise
        except Exception as exc:  # noqa: BLE001 - each caller raises it (an unexpected reply)
            results = [exc] * len(futures)
        if results is None:
            results = [None] * len(futures)
        elif len(results) != len(futures):
            results = [RuntimeError(f"{len(results)} results for {len(futures)} calls")] * len(futures)
        for future, result in zip(futures, results, strict=True):
            if future.done():
                continue  # its caller went away
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)

    async def drain(self) -> None:
        """Send what is waiting now, and wait for every batch under way (shutdown)."""
        self._flush()
        while self._sending:
            await asyncio.wait(set(self._sending))
