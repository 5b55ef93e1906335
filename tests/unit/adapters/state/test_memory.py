"""The in-process store: its minute slides with the clock, and usage and spend survive a restart
through the spend file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from adapters.state import memory
from adapters.state.memory import MemoryState
from adapters.state.spend_file import SpendFile
from domain.policy.ports import Settlement


class Clock:
    def __init__(self, now: float = 1_780_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_the_request_minute_slides() -> None:
    clock = Clock()
    state = MemoryState(clock=clock)
    limits = {"rpm": 2, "concurrent": None, "budget_usd": None, "budget_period": "total"}
    await state.admit("k", "a", **limits)  # type: ignore[arg-type]
    clock.now += 30
    await state.admit("k", "b", **limits)  # type: ignore[arg-type]
    refused = await state.admit("k", "c", **limits)  # type: ignore[arg-type]
    assert refused.refused == "rpm" and refused.retry_after == pytest.approx(30)
    clock.now += 30.001  # the first one has left the minute
    assert (await state.admit("k", "d", **limits)).refused is None  # type: ignore[arg-type]


async def test_the_token_minute_slides_and_a_late_settlement_counts_now() -> None:
    clock = Clock()
    state = MemoryState(clock=clock)
    first = await state.admit_tokens("k", tpm=100, tokens=90)
    clock.now += 61  # the estimate has left the minute before the (long) response ended
    await state.settle("k", Settlement(None, first.second, 90, 30, 20, 0.0, "total"))
    assert (await state.usage("k", "total")).tokens_last_minute == 50
    assert (await state.admit_tokens("k", tpm=100, tokens=60)).refused


async def test_usage_and_spend_survive_a_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "FLUSH_EVERY", 0.01)
    path = tmp_path / "state.sqlite3"
    state = MemoryState(SpendFile(path))
    await state.settle("k", Settlement(None, None, 0, 10, 5, 0.25, "month"))
    await asyncio.sleep(0.2)  # written as it accrues, not only at shutdown
    restarted = MemoryState(SpendFile(path))
    usage = await restarted.usage("k", "month")
    assert (usage.requests, usage.input_tokens, usage.output_tokens) == (1, 10, 5)
    assert usage.spend_usd == pytest.approx(0.25)
    await state.settle("k", Settlement(None, None, 0, 1, 1, 0.5, "month"))
    await state.flush()
    assert (await MemoryState(SpendFile(path)).usage("k", "month")).spend_usd == pytest.approx(0.75)


async def test_two_processes_writing_one_spend_file_add_up(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    one, two = MemoryState(SpendFile(path)), MemoryState(SpendFile(path))
    await one.settle("k", Settlement(None, None, 0, 0, 0, 1.0, "total"))
    await two.settle("k", Settlement(None, None, 0, 0, 0, 2.0, "total"))
    await one.flush()
    await two.flush()
    assert (await MemoryState(SpendFile(path)).usage("k", "total")).spend_usd == pytest.approx(3.0)
