"""Regression: a fallback whose circuit is half-open admits one probe, not one per request.

``attempt_order`` checks every target's circuit when a request starts, but a fallback is only
tried after the targets before it failed. Concurrent requests that all saw the fallback's
circuit half-open (no probe yet) each went on to send it a "probe", a stampede on a deployment
that is just recovering; a circuit that opened meanwhile was not honoured either. The service
now asks the circuit again when it reaches a fallback.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from domain.circuits import Breakers, BreakerSettings, Deployment
from domain.errors import ErrorKind, GatewayError
from domain.request_record import RequestRecord
from domain.resilience import ProviderPolicy, RetryPolicy
from domain.routing import Destination, RoutingTable, Target
from domain.service import ChatService
from tests.unit.domain.resilience_support import REQUEST, Clock, FakeProvider, err

POLICY = ProviderPolicy(retry=RetryPolicy(attempts=1))


def service(clock: Clock, failing: FakeProvider, fallback: FakeProvider) -> tuple[ChatService, Deployment]:
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
        policies={failing.name: POLICY, fallback.name: POLICY}, rng=random.Random(1),
    )
    return chat, breakers.deployment(fallback.name, REQUEST.model)


async def test_a_half_open_fallback_admits_one_probe_at_a_time() -> None:
    clock = Clock()
    primary = FakeProvider("x", *[err(ErrorKind.UPSTREAM, 500)] * 5, delay=0.01)  # fails a moment later
    fallback = FakeProvider("a", delay=0.05)
    chat, breaker = service(clock, primary, fallback)
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
    clock = Clock()
    primary = FakeProvider("x", err(ErrorKind.UPSTREAM, 500), delay=0.01)
    fallback = FakeProvider("a")
    chat, breaker = service(clock, primary, fallback)
    request = asyncio.ensure_future(chat.complete(REQUEST, RequestRecord()))
    await asyncio.sleep(0)  # the request ordered its targets (a was closed) and waits on x
    breaker.settle(err(ErrorKind.UPSTREAM, 500), 0)  # another request's failure opens a's circuit
    with pytest.raises(GatewayError) as info:
        await request
    assert info.value.kind is ErrorKind.UPSTREAM  # the primary's failure: nothing else was tried
    assert fallback.calls == 0
