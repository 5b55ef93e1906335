"""The status page's recent-traffic aggregate: counts, rates, percentiles, the window, and label
sets bounded by the config."""

from __future__ import annotations

import random
import string

import pytest

from app.traffic import OTHER, SLOT_SECONDS, WINDOW_SECONDS, RecentTraffic, bucket_bound_ms, bucket_of
from domain.request_record import RequestRecord


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def record(app: str = "oa", provider: str | None = "openai", *, stream: bool = False, key: str | None = None,
           attempts: tuple[tuple[str, str], ...] = (), **fields: object) -> RequestRecord:
    r = RequestRecord(app, "openai")
    r.provider, r.stream, r.key = provider, stream, key
    r.attempts = [{"provider": p, "model": "m", "result": result, "ms": 1.0} for p, result in attempts]
    for name, value in fields.items():
        setattr(r, name, value)
    return r


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def traffic(clock: Clock) -> RecentTraffic:
    t = RecentTraffic(clock)
    t.configure(["oa", "an"], ["openai", "anthropic"], ["team-a"])
    return t


def test_buckets_bound_every_duration_from_above_within_a_fifth() -> None:
    for ms in (0.2, 1.0, 1.5, 10.0, 99.0, 1234.5, 60_000.0):
        bound = bucket_bound_ms(bucket_of(ms / 1000))
        assert ms <= bound < max(ms, 1.0) * 1.2


def test_counts_status_classes_error_rate_and_tokens_per_app_and_provider(traffic: RecentTraffic) -> None:
    traffic.add(record(input_tokens=10, output_tokens=5), 200, 0.01, None)
    traffic.add(record(), 502, 0.01, None)
    traffic.add(record("an", provider=None), 400, 0.001, None)  # refused before any provider
    total = traffic.summary(traffic.total)
    assert (total["requests"], total["status"]) == (3, {"2xx": 1, "4xx": 1, "5xx": 1})
    assert total["error_rate"] == round(1 / 3, 4)
    assert (total["input_tokens"], total["output_tokens"]) == (10, 5)
    assert traffic.summary(traffic.apps["oa"])["requests"] == 2
    assert traffic.summary(traffic.apps["an"])["requests"] == 1
    assert traffic.summary(traffic.providers["openai"])["requests"] == 2  # the refused one reached none
    assert traffic.summary(traffic.providers["anthropic"])["requests"] == 0


def test_latency_of_requests_that_reached_a_provider_and_first_byte_of_streams(traffic: RecentTraffic) -> None:
    for _ in range(98):
        traffic.add(record(stream=True), 200, 0.010, 0.004)
    traffic.add(record(stream=True), 200, 2.0, 0.5)
    traffic.add(record(stream=True), 200, 2.0, 0.5)
    traffic.add(record(provider=None), 404, 30.0, None)  # not a model call: not timed
    traffic.add(record(), 200, 0.010, 0.010)  # not a stream: no first byte
    summary = traffic.summary(traffic.total)
    ten_ms, two_s = bucket_bound_ms(bucket_of(0.010)), bucket_bound_ms(bucket_of(2.0))
    assert summary["latency_ms"] == {"p50": round(ten_ms, 2), "p99": round(two_s, 2)}
    four_ms, half_s = bucket_bound_ms(bucket_of(0.004)), bucket_bound_ms(bucket_of(0.5))
    assert summary["ttft_ms"] == {"p50": round(four_ms, 2), "p99": round(half_s, 2)}


def test_no_timed_request_has_no_percentiles(traffic: RecentTraffic) -> None:
    traffic.add(record(provider=None), 401, 0.001, None)
    summary = traffic.summary(traffic.total)
    assert summary["latency_ms"] == {"p50": None, "p99": None} and summary["error_rate"] == 0.0
    assert traffic.summary(traffic.apps["an"])["error_rate"] is None  # no request: no rate


def test_attempts_count_for_the_provider_each_went_to(traffic: RecentTraffic) -> None:
    failed_over = record(attempts=(("anthropic", "timeout"), ("anthropic", "upstream"), ("openai", "ok")))
    traffic.add(failed_over, 200, 0.1, None)
    anthropic, openai = traffic.summary(traffic.providers["anthropic"]), traffic.summary(traffic.providers["openai"])
    assert (anthropic["attempts"], anthropic["failed_attempts"], anthropic["attempt_error_rate"]) == (2, 2, 1.0)
    assert (openai["attempts"], openai["failed_attempts"], openai["requests"]) == (1, 0, 1)


def test_the_rate_is_over_the_last_minute_and_counts_leave_the_window(traffic: RecentTraffic, clock: Clock) -> None:
    clock.now += 600  # long after start
    for _ in range(120):
        traffic.add(record(), 200, 0.01, None)
    clock.now += 1
    summary = traffic.summary(traffic.total)
    assert summary["requests"] == 120
    span = clock.now - (int(clock.now // SLOT_SECONDS) - 5) * SLOT_SECONDS  # the last six slots
    assert summary["requests_per_second"] == round(120 / span, 3)
    assert sum(summary["requests_per_slot"]) == 120 and summary["requests_per_slot"][-1] == 120
    clock.now += 60
    later = traffic.summary(traffic.total)
    assert (later["requests"], later["requests_per_second"]) == (120, 0.0)  # in the window, not the minute
    clock.now += WINDOW_SECONDS
    gone = traffic.summary(traffic.total)
    assert (gone["requests"], gone["requests_per_slot"]) == (0, [0] * (WINDOW_SECONDS // SLOT_SECONDS))
    traffic.add(record(), 200, 0.01, None)  # the ring comes round: the old row is zeroed first
    assert traffic.summary(traffic.total)["requests"] == 1


def test_the_rate_just_after_start_is_over_the_time_since_start(clock: Clock) -> None:
    traffic = RecentTraffic(clock)
    clock.now += 5
    for _ in range(10):
        traffic.add(record(), 200, 0.01, None)
    assert traffic.summary(traffic.total)["requests_per_second"] == 2.0


def test_keys_count_usage_and_cost_in_the_window_and_since_start(traffic: RecentTraffic, clock: Clock) -> None:
    traffic.add(record(key="team-a", input_tokens=100, output_tokens=20, cost_usd=0.25), 200, 0.1, None)
    traffic.add(record(key="team-a", provider=None, rejected="rpm"), 429, 0.001, None)
    traffic.add(record(key="intruder", cost_usd=1.0), 200, 0.1, None)
    team = traffic.summary(traffic.keys["team-a"])
    assert (team["requests"], team["rejected"], team["input_tokens"], team["output_tokens"]) == (2, 1, 100, 20)
    assert team["cost_usd"] == 0.25 and team["status"]["4xx"] == 1
    assert traffic.keys["team-a"].since_start == [2, 120, 0.25]
    assert traffic.summary(traffic.keys[OTHER])["cost_usd"] == 1.0
    clock.now += 2 * WINDOW_SECONDS
    assert traffic.summary(traffic.keys["team-a"])["requests"] == 0
    assert traffic.keys["team-a"].since_start == [2, 120, 0.25]


def test_names_the_config_does_not_hold_count_as_other_and_never_add_series(traffic: RecentTraffic) -> None:
    rng = random.Random(13)
    for _ in range(10_000):
        name = "".join(rng.choices(string.ascii_letters, k=12))
        traffic.add(record(name, name, key=name, attempts=((name, "ok"),)), 200, 0.01, None)
    assert set(traffic.apps) == {"oa", "an", OTHER}
    assert set(traffic.providers) == {"openai", "anthropic", OTHER}
    assert set(traffic.keys) == {"team-a", OTHER}
    assert traffic.summary(traffic.apps[OTHER])["requests"] == 10_000
    assert traffic.summary(traffic.providers[OTHER])["attempts"] == 10_000
    assert traffic.summary(traffic.total)["requests"] == 10_000


def test_a_new_config_keeps_the_series_of_names_it_still_holds(traffic: RecentTraffic) -> None:
    traffic.add(record("oa", "openai"), 200, 0.01, None)
    kept = traffic.apps["oa"]
    traffic.configure(["oa", "new"], ["openai"], [])
    assert traffic.apps["oa"] is kept and traffic.summary(kept)["requests"] == 1
    assert set(traffic.apps) == {"oa", "new", OTHER} and set(traffic.providers) == {"openai", OTHER}
    traffic.add(record("an", "anthropic"), 200, 0.01, None)  # gone from the config: other
    assert traffic.summary(traffic.apps[OTHER])["requests"] == 1
