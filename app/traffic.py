"""Recent traffic for the status page: requests, status classes, latency and time to first
token over the last few minutes, in total and per app, provider and gateway key, in this worker.

Fixed size whatever the traffic: time is cut into ``SLOT_SECONDS`` slots, ``SLOTS`` of them in a
ring (the window). Each series (the total, each configured app, provider and key, and ``other``
for any name the config does not hold) keeps per slot a row of counters and two histograms
with fixed log-spaced bounds; a request adds to its series' current row, and a row is zeroed in
place when the ring comes round to it. Nothing grows per request, and the label sets are the
configured names only, so a client cannot grow them by inventing names.

Latency and time to first token are taken over requests that reached a provider (model calls),
not listings or refusals; the time to first token over streams only. Percentiles come from the
histograms: a bucket's upper bound, within 19% of the true value.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from typing import Any

from domain.request_record import RequestRecord

SLOT_SECONDS = 10
SLOTS = 30  # a window of five minutes
WINDOW_SECONDS = SLOT_SECONDS * SLOTS
RATE_SLOTS = 6  # requests per second over the last minute
OTHER = "other"

_STEPS_PER_DOUBLING = 4  # bucket bounds 1 ms * 2 ** (i / 4): 19% apart
_BUCKETS = 4 * 20 + 1  # up to about 17 minutes, then one bucket for the rest
# A row: these counters, then the latency histogram, then the time-to-first-token one.
(REQUESTS, S2XX, S4XX, S5XX, OTHER_STATUS, TIMED, STREAMS, ATTEMPTS, FAILED_ATTEMPTS, REJECTED,
 INPUT_TOKENS, OUTPUT_TOKENS, COST) = range(13)  # fmt: skip
_COUNTERS = 13
_LATENCY = _COUNTERS
_TTFT = _COUNTERS + _BUCKETS
_ROW = _COUNTERS + 2 * _BUCKETS
_ZEROS = (0,) * _ROW


def bucket_of(seconds: float) -> int:
    """The histogram bucket of a duration: the first whose bound is at least it."""
    ms = seconds * 1000.0
    if ms <= 1.0:
        return 0
    return min(_BUCKETS - 1, math.ceil(_STEPS_PER_DOUBLING * math.log2(ms)))


def bucket_bound_ms(index: int) -> float:
    return float(2 ** (index / _STEPS_PER_DOUBLING))


class Series:
    """One label's rows, one per slot of the ring."""

    __slots__ = ("rows", "since_start")

    def __init__(self) -> None:
        self.rows: list[list[Any]] = [[0] * _ROW for _ in range(SLOTS)]
        self.since_start: list[Any] = [0, 0, 0.0]  # requests, tokens (in + out), USD: never reset

    def zero(self, position: int) -> None:
        self.rows[position][:] = _ZEROS  # in place


class RecentTraffic:
    """The ring of slots for every series; ``add`` is the sink the access-log layer calls."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.started = clock()
        self._stamps = [-1] * SLOTS  # which slot (now // SLOT_SECONDS) each position holds
        self._current = -1
        self.total = Series()
        self.apps: dict[str, Series] = {OTHER: Series()}
        self.providers: dict[str, Series] = {OTHER: Series()}
        self.keys: dict[str, Series] = {OTHER: Series()}

    def configure(self, apps: Iterable[str], providers: Iterable[str], keys: Iterable[str]) -> None:
        """The names to keep series for (a config generation's); a series kept keeps its counts."""
        self.apps = _named(self.apps, apps)
        self.providers = _named(self.providers, providers)
        self.keys = _named(self.keys, keys)

    def _advance(self, slot: int) -> None:
        """The clock entered ``slot``: its position in the ring is zeroed if it held an older one."""
        self._current = slot
        position = slot % SLOTS
        if self._stamps[position] != slot:
            for series in self._all():
                series.zero(position)
            self._stamps[position] = slot

    def _all(self) -> Iterable[Series]:
        yield self.total
        yield from self.apps.values()
        yield from self.providers.values()
        yield from self.keys.values()

    def add(self, record: RequestRecord, status: int, seconds: float, first_byte: float | None) -> None:
        """One request that ended: its record, HTTP status, duration and time to first byte."""
        slot = int(self._clock() // SLOT_SECONDS)
        if slot != self._current:
            self._advance(slot)
        position = slot % SLOTS
        # The columns it counts in, and the rows (series) it counts in: each row gets them all.
        status_column = _status_column(status)
        latency = ttft = -1  # histogram columns: -1 for none
        rows = [self.total.rows[position], (self.apps.get(record.app) or self.apps[OTHER]).rows[position]]
        provider = record.provider
        if provider is not None:  # a model call: timed
            latency = _LATENCY + bucket_of(seconds)
            if record.stream and first_byte is not None:
                ttft = _TTFT + bucket_of(first_byte)
            rows.append((self.providers.get(provider) or self.providers[OTHER]).rows[position])
        rejected = record.rejected is not None
        key = None if record.key is None else self.keys.get(record.key) or self.keys[OTHER]
        if key is not None:
            rows.append(key.rows[position])
        input_tokens, output_tokens = record.input_tokens or 0, record.output_tokens or 0
        cost = record.cost_usd
        for row in rows:  # the columns one by one: no list of them per request
            row[REQUESTS] += 1
            row[status_column] += 1
            if latency >= 0:
                row[TIMED] += 1
                row[latency] += 1
                if ttft >= 0:
                    row[STREAMS] += 1
                    row[ttft] += 1
            if rejected:
                row[REJECTED] += 1
            if input_tokens or output_tokens:
                row[INPUT_TOKENS] += input_tokens
                row[OUTPUT_TOKENS] += output_tokens
            if cost:
                row[COST] += cost
        for attempt in record.attempts:
            row = (self.providers.get(str(attempt.get("provider"))) or self.providers[OTHER]).rows[position]
            row[ATTEMPTS] += 1
            if attempt.get("result") != "ok":
                row[FAILED_ATTEMPTS] += 1
        if key is not None:
            since_start = key.since_start
            since_start[0] += 1
            since_start[1] += input_tokens + output_tokens
            since_start[2] += cost or 0.0

    # --- reading -----------------------------------------------------------------------------
    def summary(self, series: Series) -> dict[str, Any]:
        """What the status page shows of one series over the window."""
        now = self._clock()
        slot = int(now // SLOT_SECONDS)
        sums = [0] * _ROW
        per_slot = []
        recent = 0  # requests in the last RATE_SLOTS slots
        for age in range(SLOTS - 1, -1, -1):  # oldest first
            position = (slot - age) % SLOTS
            if self._stamps[position] != slot - age:
                per_slot.append(0)
                continue
            row = series.rows[position]
            for i in range(_ROW):
                sums[i] += row[i]
            per_slot.append(row[REQUESTS])
            if age < RATE_SLOTS:
                recent += row[REQUESTS]
        # The rate over the last minute, or since start when that was sooner.
        rate_span = min(now - (slot - RATE_SLOTS + 1) * SLOT_SECONDS, now - self.started)
        requests, attempts = sums[REQUESTS], sums[ATTEMPTS]
        return {
            "requests": requests,
            "requests_per_second": round(recent / max(rate_span, 1.0), 3),
            "status": {"2xx": sums[S2XX], "4xx": sums[S4XX], "5xx": sums[S5XX]},
            "error_rate": round(sums[S5XX] / requests, 4) if requests else None,
            "attempts": attempts,
            "failed_attempts": sums[FAILED_ATTEMPTS],
            "attempt_error_rate": round(sums[FAILED_ATTEMPTS] / attempts, 4) if attempts else None,
            "latency_ms": _quantiles(sums, _LATENCY, sums[TIMED]),
            "ttft_ms": _quantiles(sums, _TTFT, sums[STREAMS]),
            "rejected": sums[REJECTED],
            "input_tokens": sums[INPUT_TOKENS],
            "output_tokens": sums[OUTPUT_TOKENS],
            "cost_usd": round(sums[COST], 6),
            "requests_per_slot": per_slot,
        }


def _named(current: dict[str, Series], names: Iterable[str]) -> dict[str, Series]:
    named = {name: current.get(name) or Series() for name in names if name != OTHER}
    named[OTHER] = current[OTHER]
    return named


def _status_column(status: int) -> int:
    return S2XX if status < 400 else S4XX if status < 500 else S5XX if status < 600 else OTHER_STATUS


def _quantiles(sums: list[Any], start: int, count: int) -> dict[str, float | None]:
    if not count:
        return {"p50": None, "p99": None}
    return {"p50": _quantile(sums, start, count, 0.5), "p99": _quantile(sums, start, count, 0.99)}


def _quantile(sums: list[Any], start: int, count: int, q: float) -> float:
    """The bound of the bucket holding the q-th observation (an upper estimate)."""
    wanted = max(1, math.ceil(q * count))
    seen = 0
    for index in range(_BUCKETS):
        seen += sums[start + index]
        if seen >= wanted:
            return round(bucket_bound_ms(index), 2)
    return round(bucket_bound_ms(_BUCKETS - 1), 2)
