"""Recent latency per deployment, for the ``fastest`` strategy: an exponentially weighted
average of each answered attempt's time (to the first event for a stream, to the whole response
otherwise; a timed-out attempt counts its time too), kept apart per kind of call."""

from __future__ import annotations

LatencyKey = tuple[str, str, bool]  # provider, upstream model, stream

ALPHA = 0.3  # the weight of the newest sample
EXPLORE = 0.05  # the share of requests a fastest pool sends to another target first


class Latencies:
    """Per-process averages: one float per (provider, model, stream); no lock (one event loop)."""

    __slots__ = ("_alpha", "_average")

    def __init__(self, alpha: float = ALPHA) -> None:
        self._alpha = alpha
        self._average: dict[LatencyKey, float] = {}

    def observe(self, key: LatencyKey, seconds: float) -> None:
        previous = self._average.get(key)
        self._average[key] = seconds if previous is None else previous + self._alpha * (seconds - previous)

    def estimate(self, key: LatencyKey) -> float | None:
        """The average in seconds, or None before the first sample."""
        return self._average.get(key)
