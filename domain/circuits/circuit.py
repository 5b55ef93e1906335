"""One circuit: a count of verdicts over a sliding window, and the closed / open / half-open
states with their cool-downs (the rules are in the package's docstring)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import msgspec

CLOSED, HALF_OPEN, OPEN = "closed", "half_open", "open"
STATE_VALUES = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}  # a gauge's value per state

_BUCKETS = 10
_NEVER = -(2**62)


@dataclass(frozen=True, slots=True)
class BreakerSettings:
    enabled: bool = True  # False: counts are kept (for /status) but the circuit never opens
    window: float = 30.0  # seconds of history the failure ratio is taken over
    min_requests: int = 10  # fewer requests in the window never open the circuit by ratio
    failure_ratio: float = 0.5
    consecutive_failures: int = 5  # failed requests in a row that open it whatever the volume; 0: off
    cooldown: float = 30.0  # seconds open after a first trip
    max_cooldown: float = 300.0  # repeated trips double the cool-down up to this
    fail_fast: bool = False  # refuse a request whose every target is open instead of probing


DEFAULT_SETTINGS = BreakerSettings()


class CircuitSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """One circuit as it is now; ``model`` None is a provider's reachability circuit."""

    provider: str
    model: str | None
    state: str
    requests: int  # counted in the window
    failures: int
    failure_ratio: float
    consecutive_failures: int
    trips: int  # openings since the circuit last stayed closed for max_cooldown
    cooldown: float | None  # seconds, of the current opening
    next_probe_in: float | None  # seconds; 0: the next request may probe; None: closed
    probing: bool  # a half-open probe is in flight


class Circuit:
    """One circuit: a windowed count of verdicts and the closed / open / half-open states."""

    __slots__ = (
        "provider", "model", "settings", "state", "consecutive", "trips", "cooldown", "probe_at",
        "last_seen", "_closed_at", "_probing", "_ok", "_failed", "_stamp", "_width", "_clock", "_on_change",
        "_slot", "_start", "_until",
    )  # fmt: skip

    def __init__(
        self,
        provider: str,
        model: str | None = None,
        settings: BreakerSettings = DEFAULT_SETTINGS,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[CircuitSnapshot], None] | None = None,
    ) -> None:
        self.provider = provider
        self.model = model
        self.settings = settings
        self.state = CLOSED
        self.consecutive = 0
        self.trips = 0
        self.cooldown = 0.0
        self.probe_at = 0.0
        self._closed_at = -math.inf
        self._probing = False
        self._ok = [0] * _BUCKETS
        self._failed = [0] * _BUCKETS
        self._stamp = [_NEVER] * _BUCKETS
        self._width = settings.window / _BUCKETS
        self._slot = 0  # the bucket verdicts go to now, and the time span it covers
        self._start = self._until = -math.inf
        self._clock = clock
        self._on_change = on_change
        self.last_seen = clock()

    # ---- admission ----------------------------------------------------------------------
    def admits(self) -> bool:
        """Whether a request may be sent now: closed, or half-open with the probe slot free
        (an open circuit whose cool-down is over turns half-open here)."""
        if self.state is CLOSED:
            return True
        if self.state is OPEN:
            if self._clock() < self.probe_at:
                return False
            self._set(HALF_OPEN)
        return not self._probing

    def take_probe(self) -> bool:
        """A request starts; True when it holds the half-open probe slot."""
        if self.state is HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False

    def free_probe(self, held: bool) -> None:
        """A request ended without a verdict: free the probe slot it held."""
        if held:
            self._probing = False

    def opens_in(self, now: float) -> float:
        """Seconds until this circuit admits a request (0 unless open)."""
        return max(0.0, self.probe_at - now) if self.state is OPEN else 0.0

    # ---- verdicts -----------------------------------------------------------------------
    def record(self, ok: bool, now: float, retry_after: float | None = None) -> None:
        """One request's verdict. Any verdict ends a half-open state; a failure of a request
        sent while open (no other target was left) leaves the cool-down as it is."""
        if ok:
            self.succeeded(now)
            return
        self.last_seen = now
        slot = self._slot if self._start <= now < self._until else self._roll(now)
        self._failed[slot] += 1
        self._failed_once(now, retry_after)

    def succeeded(self, now: float) -> None:
        """``record(True, now)``, the verdict of nearly every request, without the detours."""
        self.last_seen = now
        self._ok[self._slot if self._start <= now < self._until else self._roll(now)] += 1
        self.consecutive = 0
        if self.state is not CLOSED:
            self._close(now)

    def amend(self, now: float) -> None:
        """A request already counted as a success failed after all (a stream cut after its
        first event): the latest success in the window becomes a failure."""
        index = int(now // self._width)
        for back in range(_BUCKETS):
            slot = (index - back) % _BUCKETS
            if self._stamp[slot] == index - back and self._ok[slot]:
                self._ok[slot] -= 1
                self._failed[slot] += 1
                break
        else:
            self.record(False, now)
            return
        self._failed_once(now, None)

    def _roll(self, now: float) -> int:
        """Move to the bucket of ``now``, emptied when it last held an older span."""
        index = int(now // self._width)
        slot = self._slot = index % _BUCKETS
        self._start, self._until = index * self._width, (index + 1) * self._width
        if self._stamp[slot] != index:
            self._stamp[slot] = index
            self._ok[slot] = self._failed[slot] = 0
        return slot

    def counts(self, now: float) -> tuple[int, int]:
        """Requests and failures counted in the window."""
        return self._sums(int(now // self._width))

    def _sums(self, index: int) -> tuple[int, int]:
        oldest = index - _BUCKETS
        requests = failures = 0
        for slot in range(_BUCKETS):
            if self._stamp[slot] > oldest:
                requests += self._ok[slot] + self._failed[slot]
                failures += self._failed[slot]
        return requests, failures

    def snapshot(self, now: float) -> CircuitSnapshot:
        requests, failures = self.counts(now)
        state = self.state
        return CircuitSnapshot(
            provider=self.provider,
            model=self.model,
            state=state,
            requests=requests,
            failures=failures,
            failure_ratio=round(failures / requests, 4) if requests else 0.0,
            consecutive_failures=self.consecutive,
            trips=self.trips,
            cooldown=None if state is CLOSED else self.cooldown,
            next_probe_in=None if state is CLOSED else round(self.opens_in(now), 3),
            probing=self._probing,
        )

    # ---- transitions --------------------------------------------------------------------
    def _failed_once(self, now: float, retry_after: float | None) -> None:
        self.consecutive += 1
        if self.state is HALF_OPEN or (self.state is CLOSED and self._tripped(now)):
            self._open(now, retry_after)

    def _tripped(self, now: float) -> bool:
        s = self.settings
        if not s.enabled:
            return False
        if s.consecutive_failures and self.consecutive >= s.consecutive_failures:
            return True
        requests, failures = self.counts(now)
        return requests >= s.min_requests and failures >= s.failure_ratio * requests

    def _open(self, now: float, retry_after: float | None) -> None:
        s = self.settings
        if self.state is CLOSED and now - self._closed_at >= s.max_cooldown:
            self.trips = 0  # closed long enough: this trip starts a new series
        self.trips += 1
        if retry_after is not None and retry_after > 0:
            self.cooldown = min(retry_after, s.max_cooldown)
        else:
            self.cooldown = min(s.cooldown * 2.0 ** min(self.trips - 1, 32), s.max_cooldown)
        self.probe_at = now + self.cooldown
        self._probing = False
        self._set(OPEN)

    def _close(self, now: float) -> None:
        self._closed_at = now
        self._probing = False
        self.consecutive = 0
        self._stamp = [_NEVER] * _BUCKETS  # a fresh window: old failures do not reopen it
        self._start = self._until = -math.inf
        self._set(CLOSED)

    def _set(self, state: str) -> None:
        if state is not self.state:
            self.state = state
            if self._on_change is not None:
                self._on_change(self.snapshot(self._clock()))
