"""The policy's state in this process: sliding minutes, slots in flight, usage and spend.

Nothing here awaits: each operation runs to its end within one step of the event loop, so it
is atomic without a lock. Usage and spend are also added to a ``SpendFile`` (when given) at
most ``FLUSH_EVERY`` seconds after they accrue, on a worker thread, and read back at start.
With several worker processes each one counts its own limits (start-up warns about it).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from adapters.state.spend_file import SpendFile, UsageRow
from domain.policy.periods import period_end, period_index, period_label
from domain.policy.ports import WINDOW, Admission, KeyUsage, Settlement, TokenAdmission

FLUSH_EVERY = 1.0  # seconds between accrued usage and its write to the spend file


class _Tokens:
    """One key's tokens per second over the last minute."""

    __slots__ = ("buckets", "total")

    def __init__(self) -> None:
        self.buckets: deque[list[int]] = deque()  # [second, tokens], oldest first
        self.total = 0

    def purge(self, second: int) -> None:
        buckets = self.buckets
        while buckets and buckets[0][0] <= second - WINDOW:
            self.total -= buckets.popleft()[1]

    def add(self, second: int, tokens: int) -> None:
        buckets = self.buckets
        if buckets and buckets[-1][0] == second:
            buckets[-1][1] += tokens
        else:
            buckets.append([second, tokens])
        self.total += tokens

    def adjust(self, second: int, tokens: int) -> bool:
        """Add ``tokens`` to the bucket of ``second``; False when it has left the minute."""
        for bucket in reversed(self.buckets):
            if bucket[0] == second:
                bucket[1] += tokens
                self.total += tokens
                return True
            if bucket[0] < second:
                break
        return False


class MemoryState:
    def __init__(self, spend_file: SpendFile | None = None, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._requests: dict[str, deque[float]] = {}
        self._tokens: dict[str, _Tokens] = {}
        self._in_flight: dict[str, int] = {}
        # (key, period label) -> [requests, input tokens, output tokens, spend]
        self._usage: dict[tuple[str, str], list[float]] = {}
        self._file = spend_file
        self._pending: dict[tuple[str, str], list[float]] = {}
        self._flush_handle: asyncio.TimerHandle | None = None
        self._labels: dict[str, tuple[float, float, str]] = {}  # period -> (start, end, label) now
        self._writing: asyncio.Task[None] | None = None
        if spend_file is not None:
            for key, label, requests, inp, out, usd in spend_file.load():
                self._usage[(key, label)] = [requests, inp, out, usd]

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
        now = self._clock()
        spend = 0.0
        if budget_usd is not None:
            counters = self._usage.get((key, self._label(budget_period, now)))
            spend = counters[3] if counters is not None else 0.0
            if spend >= budget_usd:
                return Admission("budget", 0.0, None, 0.0, spend, now)
        remaining: int | None = None
        reset = 0.0
        times = None
        if rpm is not None:
            times = self._requests.get(key)
            if times is None:
                times = self._requests[key] = deque()
            horizon = now - WINDOW
            while times and times[0] <= horizon:
                times.popleft()
            if len(times) >= rpm:
                retry = times[0] + WINDOW - now
                return Admission("rpm", retry, 0, retry, spend, now)
        if concurrent is not None:
            held = self._in_flight.get(key, 0)
            if held >= concurrent:
                left = None if rpm is None else rpm - len(times or ())
                return Admission("concurrent", 1.0, left, reset, spend, now)
            self._in_flight[key] = held + 1
        if times is not None and rpm is not None:
            times.append(now)
            remaining = rpm - len(times)
            reset = times[0] + WINDOW - now
        return Admission(None, 0.0, remaining, reset, spend, now)

    async def admit_tokens(self, key: str, *, tpm: int, tokens: int) -> TokenAdmission:
        now = self._clock()
        second = int(now)
        window = self._tokens.get(key)
        if window is None:
            window = self._tokens[key] = _Tokens()
        window.purge(second)
        used = window.total
        if used > 0 and used + tokens > tpm:
            retry = window.buckets[0][0] + WINDOW - now
            return TokenAdmission(True, retry, max(tpm - used, 0), retry, second)
        window.add(second, tokens)
        reset = window.buckets[0][0] + WINDOW - now
        return TokenAdmission(False, 0.0, max(tpm - window.total, 0), reset, second)

    async def settle(self, key: str, settlement: Settlement) -> None:
        if settlement.concurrent_ticket is not None:
            held = self._in_flight.get(key, 0)
            self._in_flight[key] = held - 1 if held > 0 else 0
        now = self._clock()
        used = settlement.input_tokens + settlement.output_tokens
        if settlement.tpm_second is not None:
            window = self._tokens.get(key)
            if window is not None:
                window.purge(int(now))
                if not window.adjust(settlement.tpm_second, used - settlement.estimated_tokens):
                    window.add(int(now), used)  # its estimate left the minute: count it now
        self.add_usage(
            key, self._label(settlement.usage_period, now),
            1, settlement.input_tokens, settlement.output_tokens, settlement.cost_usd,
        )  # fmt: skip

    async def usage(self, key: str, period: str) -> KeyUsage:
        now = self._clock()
        counters = self._usage.get((key, period_label(period, period_index(period, now)))) or [0, 0, 0, 0.0]
        times = self._requests.get(key) or ()
        tokens = self._tokens.get(key)
        if tokens is not None:
            tokens.purge(int(now))
        return KeyUsage(
            requests=int(counters[0]),
            input_tokens=int(counters[1]),
            output_tokens=int(counters[2]),
            spend_usd=float(counters[3]),
            in_flight=self._in_flight.get(key, 0),
            requests_last_minute=sum(1 for t in times if t > now - WINDOW),
            tokens_last_minute=tokens.total if tokens is not None else 0,
        )

    async def flush(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if self._writing is not None:
            await self._writing
        self._write_now()

    async def aclose(self) -> None:
        await self.flush()

    def _label(self, period: str, now: float) -> str:
        """The label of the ``period`` holding ``now``, remembered until that period ends."""
        known = self._labels.get(period)
        if known is not None and known[0] <= now < known[1]:
            return known[2]
        index = period_index(period, now)
        end = period_end(period, index)
        start = period_end(period, index - 1) if period != "total" else None
        label = period_label(period, index)
        self._labels[period] = (start if start is not None else float("-inf"),
                                end if end is not None else float("inf"), label)  # fmt: skip
        return label

    # ---- usage and the spend file ------------------------------------------------------------
    def add_usage(self, key: str, label: str, requests: int, inp: int, out: int, usd: float) -> None:
        counters = self._usage.get((key, label))
        if counters is None:
            counters = self._usage[(key, label)] = [0, 0, 0, 0.0]
        counters[0] += requests
        counters[1] += inp
        counters[2] += out
        counters[3] += usd
        if self._file is None:
            return
        pending = self._pending.get((key, label))
        if pending is None:
            pending = self._pending[(key, label)] = [0, 0, 0, 0.0]
        pending[0] += requests
        pending[1] += inp
        pending[2] += out
        pending[3] += usd
        if self._flush_handle is None and self._writing is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self._write_now()
                return
            self._flush_handle = loop.call_later(FLUSH_EVERY, self._start_write)

    def _take_pending(self) -> list[UsageRow]:
        rows = [(k, p, int(c[0]), int(c[1]), int(c[2]), float(c[3])) for (k, p), c in self._pending.items()]
        self._pending = {}
        return rows

    def _start_write(self) -> None:
        self._flush_handle = None
        rows = self._take_pending()
        if rows and self._file is not None:
            self._writing = asyncio.get_running_loop().create_task(self._write(rows))

    async def _write(self, rows: list[UsageRow]) -> None:
        assert self._file is not None
        try:
            await asyncio.to_thread(self._file.add, rows)
        finally:
            self._writing = None
            if self._pending and self._flush_handle is None:
                self._flush_handle = asyncio.get_running_loop().call_later(FLUSH_EVERY, self._start_write)

    def _write_now(self) -> None:
        rows = self._take_pending()
        if rows and self._file is not None:
            self._file.add(rows)

    def take_usage(self) -> dict[tuple[str, str], list[float]]:
        """Every counter, emptied (what a shared store replays after an outage)."""
        usage, self._usage = self._usage, {}
        return usage
