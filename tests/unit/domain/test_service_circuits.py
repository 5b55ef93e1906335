"""How the service acts on open circuits, with fake providers and a fake clock: an open circuit
diverts traffic where the route has somewhere else to go, and never refuses a request alone
(unless its provider asks for ``fail_fast``)."""

from __future__ import annotations

import asyncio
import math
import random

import pytest

from domain.circuits import Breakers, BreakerSettings, Deployment
from domain.errors import ErrorKind, GatewayError
from domain.ir import StreamError, TextBlock
from domain.request_record import RequestRecord
from domain.resilience import ProviderPolicy, RetryPolicy
from domain.routing import Destination, RoutingTable, Target
from domain.service import ChatService
from tests.unit.domain.resilience_support import OK, REQUEST, Clock, FakeProvider, Harness, err, text_events

FAIL = err(ErrorKind.UPSTREAM, 500)


def trip(h: Harness, provider: str, model: str = "m", error: GatewayError = FAIL) -> None:
    """Open a deployment's circuit as failed requests would (the harness trips after 3)."""
    deployment = h.deployment(provider, model)
    while deployment.state == "closed" and h.breakers.provider(provider).state == "closed":
        deployment.settle(error, deployment.begin())


# ---- a single target: nothing to divert to -----------------------------------------------------
async def test_one_clients_500s_never_stop_another_clients_requests_on_a_single_target() -> None:
    upstream = FakeProvider("a", chokes_on="choke")  # answers everything but that prompt
    h = Harness(upstream, breaker=BreakerSettings())  # the defaults: ratio, volume, 5 in a row
    good = 0
    for _ in range(4):
        for _ in range(5):  # one client's burst of prompts the upstream chokes on
            with pytest.raises(GatewayError) as info:
                await h.complete(text="choke")
            assert info.value.kind is ErrorKind.UPSTREAM  # the upstream's own answer, never a refusal
        for _ in range(50):  # another client's ordinary requests
            response, _ = await h.complete(text=f"good {good}")
            assert response.content == [TextBlock(text="a")]
            good += 1
    assert upstream.served == [f"good {n}" for n in range(200)]  # every one reached the upstream
    assert ("a", "m", "open") in h.changes  # although the circuit did open on each burst
    assert h.changes.count(("a", "m", "closed")) == 4  # and each good request after it closed it


async def test_an_open_single_target_still_gets_the_request_and_its_failure_reaches_the_client() -> None:
    h = Harness(FakeProvider("a", err(ErrorKind.OVERLOADED, 529), err(ErrorKind.OVERLOADED, 529)))
    trip(h, "a")
    with pytest.raises(GatewayError) as info:
        await h.complete()
    assert info.value.status == 529 and "circuit" not in info.value.message  # the upstream's answer
    assert h.providers["a"].calls == 2  # sent, and retried as usual


# ---- every target open: probe the likeliest to have recovered -------------------------------
async def test_when_every_target_is_open_the_one_whose_cooldown_ends_first_gets_the_request() -> None:
    h = Harness(FakeProvider("a"), FakeProvider("b"), fallbacks=("b",))
    trip(h, "b")  # b opens at 0: probes from 30
    h.clock.now = 10
    trip(h, "a")  # a opens at 10: probes from 40
    h.clock.now = 20
    _, record = await h.complete()
    assert record.provider == "b" and record.failed_over is True
    assert (h.providers["a"].calls, h.providers["b"].calls) == (0, 1)
    assert h.deployment("b").state == "closed"  # its verdict counted: the success closed it
    _, record = await h.complete()
    assert record.provider == "b"  # b admits requests again, a is still open: diverted
    assert h.observer.skipped[-1] == ("m", "a", "m")


async def test_when_every_target_is_open_and_the_first_fails_the_next_is_tried() -> None:
    h = Harness(FakeProvider("a", FAIL, FAIL), FakeProvider("b"), fallbacks=("b",))
    trip(h, "a")
    h.clock.now = 10
    trip(h, "b")
    _, record = await h.complete()
    assert [(a["provider"], a["result"]) for a in record.attempts] == [("a", "upstream"), ("a", "upstream"), ("b", "ok")]


# ---- fail_fast: refuse instead -----------------------------------------------------------------
async def test_fail_fast_refuses_when_every_target_is_open_and_says_when_to_come_back() -> None:
    h = Harness(FakeProvider("a"), FakeProvider("b"), fallbacks=("b",), breaker=BreakerSettings(fail_fast=True))
    trip(h, "a")
    h.clock.now = 10
    trip(h, "b")
    h.clock.now = 12.5
    with pytest.raises(GatewayError) as info:
        await h.complete()
    assert info.value.kind is ErrorKind.OVERLOADED and info.value.retry_after == math.ceil(30 - 12.5)
    assert "circuit" in info.value.message and "a/m" in info.value.message
    assert h.providers["a"].calls == h.providers["b"].calls == 0


async def test_fail_fast_on_a_single_target() -> None:
    h = Harness(FakeProvider("a"), breaker=BreakerSettings(consecutive_failures=1, fail_fast=True))
    trip(h, "a")
    with pytest.raises(GatewayError) as info:
        await h.complete()
    assert info.value.kind is ErrorKind.OVERLOADED and info.value.retry_after == 30
    h.clock.now = 30  # the cool-down is over: the probe goes
    response, _ = await h.complete()
    assert response.content == [TextBlock(text="a")]


async def test_an_open_target_without_fail_fast_is_still_tried_beside_one_with_it() -> None:
    fast = BreakerSettings(consecutive_failures=3, fail_fast=True)
    h = Harness(FakeProvider("a"), FakeProvider("b"), fallbacks=("b",), per_provider={"a": fast})
    trip(h, "a")
    trip(h, "b")
    _, record = await h.complete()
    assert record.provider == "b" and h.providers["a"].calls == 0


# ---- counting ----------------------------------------------------------------------------------
async def test_retries_do_not_multiply_the_count() -> None:
    h = Harness(FakeProvider("a", FAIL, FAIL, OK, FAIL, FAIL, FAIL), attempts=3, consecutive=2)
    response, record = await h.complete()  # fails twice, then the third attempt succeeds
    assert len(record.attempts) == 3 and response.content == [TextBlock(text="a")]
    assert h.deployment("a").counts(h.clock.now) == (1, 0)
    with pytest.raises(GatewayError):
        await h.complete()  # three failed attempts: one failed request
    assert h.deployment("a").counts(h.clock.now) == (2, 1)
    assert h.deployment("a").state == "closed"  # one failed request, not three


async def test_the_retry_after_that_trips_the_circuit_sets_its_cooldown() -> None:
    limited = err(ErrorKind.RATE_LIMITED, 429, retry_after=45)  # beyond retry_after_cap: no retry
    h = Harness(FakeProvider("a", limited), FakeProvider("b"), fallbacks=("b",), consecutive=1)
    _, record = await h.complete()
    assert record.provider == "b"
    deployment = h.deployment("a")
    assert (deployment.state, deployment.probe_at) == ("open", 45)
    h.clock.now = 44
    assert (await h.complete())[1].provider == "b"
    h.clock.now = 45
    assert (await h.complete())[1].provider == "a"


async def test_client_errors_never_open_a_circuit() -> None:
    h = Harness(FakeProvider("a", *[err(ErrorKind.INVALID_REQUEST, 400)] * 20), consecutive=1)
    for _ in range(20):
        with pytest.raises(GatewayError):
            await h.complete()
    assert h.changes == []


async def test_a_client_that_leaves_is_not_counted() -> None:
    h = Harness(FakeProvider("a", delay=10), consecutive=1)
    task = asyncio.ensure_future(h.complete())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert h.deployment("a").counts(h.clock.now) == (0, 0) and h.changes == []


async def test_a_stream_cut_after_its_first_event_is_one_failed_request() -> None:
    cut = [*text_events()[:3], err(ErrorKind.UNAVAILABLE)]
    h = Harness(FakeProvider("a", cut), consecutive=1)
    events, _ = await h.stream()
    assert isinstance(events[-1], StreamError)
    assert h.deployment("a").counts(h.clock.now) == (1, 1)
    assert h.deployment("a").state == "open"


# ---- scope -------------------------------------------------------------------------------------
async def test_an_unreachable_provider_diverts_every_model_of_it() -> None:
    refused = err(ErrorKind.UNAVAILABLE, unreachable=True)
    h = Harness(FakeProvider("a", *[refused] * 3), FakeProvider("b"), fallbacks=("b",), attempts=1)
    for _ in range(3):
        assert (await h.complete("m"))[1].provider == "b"
    assert h.breakers.provider("a").state == "open"
    _, record = await h.complete("another-model")  # a model of a never asked before
    assert record.provider == "b" and h.providers["a"].calls == 3
    assert ("another-model", "a", "another-model") in h.observer.skipped


async def test_one_models_failures_do_not_divert_another_models_traffic() -> None:
    h = Harness(FakeProvider("a", FAIL, FAIL, FAIL), FakeProvider("b"), fallbacks=("b",), attempts=1)
    for _ in range(3):
        await h.complete("m")
    assert h.deployment("a", "m").state == "open"
    _, record = await h.complete("another-model")
    assert record.provider == "a" and record.upstream_model == "another-model"


async def test_a_half_open_probe_in_flight_does_not_hold_up_a_single_target() -> None:
    h = Harness(FakeProvider("a", delay=0.05))
    trip(h, "a")
    h.clock.now = 30
    results = await asyncio.gather(h.complete(), h.complete(), h.complete())
    assert [r[1].provider for r in results] == ["a", "a", "a"]
    assert h.deployment("a").state == "closed"


ONE_ATTEMPT = ProviderPolicy(retry=RetryPolicy(attempts=1))


def failing_then_fallback(clock: Clock, failing: FakeProvider, fallback: FakeProvider) -> tuple[ChatService, Deployment]:
    """``failing`` first, then ``fallback``, whose deployment (opened by one failure) is returned."""
    settings = {
        failing.name: BreakerSettings(enabled=False),
        fallback.name: BreakerSettings(consecutive_failures=1),
    }
    breakers = Breakers(settings, clock=clock)
    route = Destination(targets=(Target(provider=failing.name),), fallbacks=(Target(provider=fallback.name),))
    table = RoutingTable(default=route)
    chat = ChatService(
        table, {failing.name: failing, fallback.name: fallback}, breakers=breakers,
        policies={failing.name: ONE_ATTEMPT, fallback.name: ONE_ATTEMPT}, rng=random.Random(1),
    )
    return chat, breakers.deployment(fallback.name, REQUEST.model)


async def test_a_half_open_fallback_admits_one_probe_at_a_time() -> None:
    """A fallback is tried only after the targets before it failed, so its circuit is asked
    again when the request gets there: concurrent requests that all saw it half-open must not
    each send a probe to a deployment that is just recovering."""
    clock = Clock()
    primary = FakeProvider("x", *[err(ErrorKind.UPSTREAM, 500)] * 5, delay=0.01)  # fails a moment later
    fallback = FakeProvider("a", delay=0.05)
    chat, breaker = failing_then_fallback(clock, primary, fallback)
    breaker.settle(err(ErrorKind.UPSTREAM, 500), 0)  # open
    clock.now += 31  # cool-down over: the next look makes it half-open
    requests = (chat.complete(REQUEST, RequestRecord()) for _ in range(5))
    results = await asyncio.gather(*requests, return_exceptions=True)
    assert fallback.calls == 1  # the probe; the others found it taken
    assert breaker.state == "closed"  # and it succeeded
    served = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, GatewayError)]
    assert len(served) == 1 and len(refused) == 4
    assert all(r.kind is ErrorKind.UPSTREAM for r in refused)  # the primary's own failure


async def test_a_fallback_whose_circuit_opened_meanwhile_is_skipped() -> None:
    """A circuit that opened while the request waited on the targets before it is honoured."""
    clock = Clock()
    primary = FakeProvider("x", err(ErrorKind.UPSTREAM, 500), delay=0.01)
    fallback = FakeProvider("a")
    chat, breaker = failing_then_fallback(clock, primary, fallback)
    request = asyncio.ensure_future(chat.complete(REQUEST, RequestRecord()))
    await asyncio.sleep(0)  # the request ordered its targets (a was closed) and waits on x
    breaker.settle(err(ErrorKind.UPSTREAM, 500), 0)  # another request's failure opens a's circuit
    with pytest.raises(GatewayError) as info:
        await request
    assert info.value.kind is ErrorKind.UPSTREAM  # the primary's failure: nothing else was tried
    assert fallback.calls == 0
