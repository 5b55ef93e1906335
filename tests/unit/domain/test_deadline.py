"""The deadline on a provider's answer: the timer's cancellation becomes a TIMEOUT, anyone
else's passes through, and the task is left with no cancellation of the timer's pending."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from domain.errors import ErrorKind, GatewayError
from domain.service import _deadline

PROVIDER: Any = SimpleNamespace(name="slow")


async def test_an_answer_in_time_passes_through() -> None:
    async with _deadline(PROVIDER, 5.0):
        await asyncio.sleep(0)
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0


async def test_a_late_answer_is_a_timeout_error_naming_the_provider() -> None:
    with pytest.raises(GatewayError) as caught:
        async with _deadline(PROVIDER, 0.01):
            await asyncio.sleep(1)
    assert caught.value.kind is ErrorKind.TIMEOUT and caught.value.provider == "slow"
    assert "within 0.01 s" in caught.value.message
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0  # the timer's cancellation was withdrawn


async def test_a_cancellation_from_outside_is_not_a_timeout() -> None:
    async def call() -> None:
        async with _deadline(PROVIDER, 5.0):
            await asyncio.sleep(1)

    task = asyncio.create_task(call())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_cancellation_from_outside_wins_over_an_expired_timer() -> None:
    async def call() -> None:
        async with _deadline(PROVIDER, 0.01):
            try:
                await asyncio.sleep(1)
            finally:  # the timer fired; someone else cancels too before the block ends
                asyncio.current_task().cancel()  # type: ignore[union-attr]
                await asyncio.sleep(0)

    with pytest.raises(asyncio.CancelledError):
        await asyncio.create_task(call())
