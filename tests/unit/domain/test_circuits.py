"""The circuit breakers' own rules, with a fake clock: what opens a circuit, for how long, what
counts, and how many are kept. How the service acts on them: test_service_circuits.py."""

from __future__ import annotations

import pytest

from domain.circuits import Breakers, BreakerSettings, CircuitSnapshot
from domain.errors import ErrorKind, GatewayError
from tests.unit.domain.resilience_support import Clock, err

RATIO_ONLY = BreakerSettings(consecutive_failures=0)  # min_requests 10, failure_ratio 0.5, window 30
FAIL = err(ErrorKind.UPSTREAM, 500)


def breakers(settings: BreakerSettings = RATIO_ONLY, **options: object) -> tuple[Breakers, Clock, list[CircuitSnapshot]]:
    clock, changes = Clock(), []
    return Breakers({"p": settings}, clock=clock, on_change=changes.append, **options), clock, changes  # type: ignore[arg-type]


def settle(b: Breakers, ok: int = 0, failed: int = 0, model: str = "m", error: GatewayError = FAIL) -> None:
    deployment = b.deployment("p", model)
    for _ in range(ok):
        deployment.settle(None, deployment.begin())
    for _ in range(failed):
        deployment.settle(error, deployment.begin())


# ---- what opens a circuit ---------------------------------------------------------------------
def test_failures_below_the_minimum_volume_never_open_it() -> None:
    b, _, _ = breakers()
    settle(b, failed=9)  # 100% failed, but only 9 requests
    assert b.deployment("p", "m").state == "closed"


def test_the_failure_ratio_opens_it_once_the_window_holds_enough_requests() -> None:
    b, _, changes = breakers()
    settle(b, ok=5, failed=4)
    assert b.deployment("p", "m").state == "closed"  # 9 requests
    settle(b, failed=1)  # 10 requests, 5 failed: the ratio is reached
    assert b.deployment("p", "m").state == "open"
    assert [(c.provider, c.model, c.state, c.requests, c.failures) for c in changes] == [("p", "m", "open", 10, 5)]


def test_a_ratio_below_the_threshold_keeps_it_closed() -> None:
    b, _, _ = breakers()
    settle(b, ok=60, failed=59)
    assert b.deployment("p", "m").state == "closed"


def test_verdicts_older_than_the_window_no_longer_count() -> None:
    b, clock, _ = breakers()
    settle(b, ok=1, failed=8)
    clock.now += 31  # those nine have left the window
    settle(b, ok=1, failed=8)
    assert b.deployment("p", "m").counts(clock.now) == (9, 8)
    assert b.deployment("p", "m").state == "closed"


def test_consecutive_failed_requests_open_it_at_any_volume() -> None:
    b, _, _ = breakers(BreakerSettings(consecutive_failures=3))
    settle(b, failed=2)
    settle(b, ok=1)  # a success ends the run
    settle(b, failed=2)
    assert b.deployment("p", "m").state == "closed"
    settle(b, failed=1)
    assert b.deployment("p", "m").state == "open"


def test_a_disabled_breaker_counts_but_never_opens() -> None:
    b, clock, _ = breakers(BreakerSettings(enabled=False))
    settle(b, failed=50)
    deployment = b.deployment("p", "m")
    assert deployment.state == "closed" and deployment.available()
    assert deployment.counts(clock.now) == (50, 50)


# ---- how long it stays open -------------------------------------------------------------------
def test_the_first_trip_opens_it_for_the_base_cooldown_then_one_probe_goes() -> None:
    b, clock, _ = breakers()
    settle(b, failed=10)
    deployment = b.deployment("p", "m")
    clock.now = 29.9
    assert not deployment.available()
    clock.now = 30.0
    assert deployment.available() and deployment.state == "half_open"


def test_an_upstream_retry_after_sets_the_cooldown() -> None:
    b, clock, _ = breakers()
    settle(b, failed=10, error=err(ErrorKind.RATE_LIMITED, 429, retry_after=7))
    deployment = b.deployment("p", "m")
    assert deployment.cooldown == 7
    clock.now = 7
    assert deployment.available()


def test_a_retry_after_beyond_the_cap_is_cut_to_the_cap() -> None:
    b, _, _ = breakers(BreakerSettings(consecutive_failures=1, max_cooldown=120))
    settle(b, failed=1, error=err(ErrorKind.OVERLOADED, 529, retry_after=3600))
    assert b.deployment("p", "m").cooldown == 120


def test_repeated_trips_double_the_cooldown_up_to_the_cap() -> None:
    b, clock, _ = breakers(BreakerSettings(consecutive_failures=1))
    deployment = b.deployment("p", "m")
    cooldowns = []
    for _ in range(7):
        settle(b, failed=1)  # opens (first time) or the probe fails (half-open -> open)
        cooldowns.append(deployment.cooldown)
        clock.now = deployment.probe_at
        assert deployment.available()  # half-open: the next request is the probe
    assert cooldowns == [30, 60, 120, 240, 300, 300, 300]


def test_flapping_counts_as_repeated_but_a_long_quiet_spell_starts_again() -> None:
    b, clock, _ = breakers(BreakerSettings(consecutive_failures=1))
    deployment = b.deployment("p", "m")
    settle(b, failed=1)
    clock.now = 30
    settle(b, ok=1)  # the probe succeeds: closed
    clock.now = 100
    settle(b, failed=1)  # opens again soon after: a repeated trip
    assert deployment.cooldown == 60
    clock.now = 160
    settle(b, ok=1)
    clock.now = 160 + 300  # closed for max_cooldown
    settle(b, failed=1)
    assert deployment.cooldown == 30


# ---- half-open ---------------------------------------------------------------------------------
def test_half_open_admits_one_probe_at_a_time_and_its_success_closes_it() -> None:
    b, clock, changes = breakers()
    settle(b, failed=10)
    deployment = b.deployment("p", "m")
    clock.now = 30
    assert deployment.available()
    probe = deployment.begin()
    assert not deployment.available()  # the slot is taken
    deployment.settle(None, probe)
    assert deployment.state == "closed" and deployment.available()
    assert deployment.counts(clock.now) == (0, 0)  # a fresh window: old failures cannot reopen it
    assert [c.state for c in changes] == ["open", "half_open", "closed"]


def test_a_failed_probe_opens_it_again_and_an_abandoned_one_frees_the_slot() -> None:
    b, clock, _ = breakers()
    settle(b, failed=10)
    deployment = b.deployment("p", "m")
    clock.now = 30
    assert deployment.available()
    deployment.release(deployment.begin())  # the client left: no verdict
    assert deployment.state == "half_open" and deployment.available()
    deployment.settle(FAIL, deployment.begin())
    assert deployment.state == "open" and deployment.probe_at == 30 + 60


def test_a_failure_sent_while_open_leaves_the_cooldown_alone() -> None:
    b, clock, _ = breakers()
    settle(b, failed=10)
    deployment = b.deployment("p", "m")
    clock.now = 10
    settle(b, failed=3)  # requests that went anyway (no other target): they count, nothing more
    assert (deployment.state, deployment.probe_at, deployment.trips) == ("open", 30, 1)
    settle(b, ok=1)  # one that succeeds closes it
    assert deployment.state == "closed"


# ---- scope: a deployment, or the whole provider -------------------------------------------------
def test_a_models_failures_leave_the_providers_other_models_alone() -> None:
    b, _, _ = breakers()
    settle(b, failed=10, model="big")
    assert b.deployment("p", "big").state == "open"
    assert b.deployment("p", "small").available()
    assert b.provider("p").state == "closed"


def test_an_unreachable_provider_opens_every_deployment_of_it() -> None:
    b, clock, changes = breakers()
    unreachable = err(ErrorKind.UNAVAILABLE, unreachable=True)
    settle(b, ok=2, model="small")
    settle(b, failed=10, model="big", error=unreachable)
    assert b.provider("p").state == "open"
    assert not b.deployment("p", "big").available()
    assert not b.deployment("p", "small").available()
    assert not b.deployment("p", "never-asked-before").available()
    assert b.deployment("p", "big").state == "closed"  # no verdict on the model itself
    assert [(c.model, c.state) for c in changes] == [(None, "open")]
    clock.now = 30  # the provider's cool-down is over: a request to any model probes it
    small = b.deployment("p", "small")
    assert small.available()
    small.settle(None, small.begin())
    assert b.provider("p").state == "closed" and b.deployment("p", "big").available()


def test_a_connect_timeout_is_the_providers_and_a_read_timeout_the_models() -> None:
    b, _, _ = breakers(BreakerSettings(consecutive_failures=2))
    settle(b, failed=2, model="slow", error=err(ErrorKind.TIMEOUT))
    assert (b.provider("p").state, b.deployment("p", "slow").state) == ("closed", "open")
    settle(b, failed=2, model="other", error=err(ErrorKind.TIMEOUT, unreachable=True))
    assert (b.provider("p").state, b.deployment("p", "other").state) == ("open", "closed")


# ---- what counts -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("error", "counts"),
    [
        (err(ErrorKind.UPSTREAM, 500), (1, 1)),
        (err(ErrorKind.OVERLOADED, 529), (1, 1)),
        (err(ErrorKind.OVERLOADED, 503), (1, 1)),
        (err(ErrorKind.RATE_LIMITED, 429), (1, 1)),
        (err(ErrorKind.TIMEOUT, 408), (1, 1)),
        (err(ErrorKind.TIMEOUT), (1, 1)),
        (err(ErrorKind.UNAVAILABLE), (1, 1)),  # e.g. a connection reset mid-answer
        (err(ErrorKind.INVALID_REQUEST, 400), (1, 0)),  # answered: the client's mistake
        (err(ErrorKind.NOT_FOUND, 404), (1, 0)),
        (err(ErrorKind.REQUEST_TOO_LARGE, 413), (1, 0)),
        (err(ErrorKind.CONFIGURATION), (0, 0)),  # an unset key: never sent
        (err(ErrorKind.PROTOCOL), (0, 0)),  # unreadable: maybe our own bug
        (err(ErrorKind.INTERNAL), (0, 0)),
    ],
    ids=lambda v: getattr(v, "status", None) or getattr(getattr(v, "kind", None), "value", str(v)),
)
def test_what_counts_against_a_deployment(error: GatewayError, counts: tuple[int, int]) -> None:
    b, clock, _ = breakers()
    settle(b, failed=1, error=error)
    assert b.deployment("p", "m").counts(clock.now) == counts


def test_a_stream_that_fails_after_its_first_event_counts_once_as_a_failure() -> None:
    b, clock, _ = breakers()
    deployment = b.deployment("p", "m")
    deployment.settle(None, deployment.begin())  # its first event arrived
    deployment.failed_late("unavailable")  # then the connection was cut
    deployment.failed_late("invalid_request")  # a client's error frame: not the upstream's fault
    assert deployment.counts(clock.now) == (1, 1)


# ---- the registry -------------------------------------------------------------------------------
def test_the_number_of_deployments_kept_is_bounded_and_open_ones_stay() -> None:
    b, clock, _ = breakers(BreakerSettings(consecutive_failures=1), limit=8)
    settle(b, failed=1, model="broken")
    broken = b.deployment("p", "broken")
    for n in range(100):  # client-chosen model names
        clock.now += 0.01
        settle(b, ok=1, model=f"model-{n}")
    kept = [c for c in b.snapshot() if c.model is not None]
    assert len(kept) <= 8
    assert b.deployment("p", "broken") is broken and broken.state == "open"
    assert "model-99" in {c.model for c in kept}  # the most recent stay


def test_a_snapshot_lists_each_provider_then_its_deployments() -> None:
    clock = Clock()
    b = Breakers({"p": RATIO_ONLY, "q": RATIO_ONLY}, clock=clock)
    settle(b, ok=3, failed=10, model="z")
    settle(b, ok=1, model="a")
    clock.now = 12.5
    rows = [(c.provider, c.model, c.state, c.requests, c.failures, c.next_probe_in) for c in b.snapshot()]
    assert rows == [
        ("p", None, "closed", 14, 0, None),
        ("p", "a", "closed", 1, 0, None),
        ("p", "z", "open", 13, 10, 17.5),
        ("q", None, "closed", 0, 0, None),
    ]
