"""ChatService: resolve a request's route and run it, riding out failing upstreams.

For each target in the route's attempt order (see ``domain.routing.attempt_order``): try it,
retry it on retryable failures with backoff (``RetryPolicy``), then fail over to the next
target. Nothing is retried or failed over once the first byte of a response has gone to the
client.

Each target is a deployment (provider, upstream model) with a circuit (``domain.circuits``),
told one verdict per request. An open circuit only diverts: its target is passed over when the
route has another whose circuit admits the request. When none does, the request still goes, to
the deployments whose cool-down ends first, and its verdict counts (a success closes the
circuit); only targets whose provider sets ``fail_fast`` are refused, with an overload error
that says when to come back.

Streams are peeked: the first event is pulled before the frontdoor commits to a 200, so an
error before it is an ordinary HTTP error or a reason to try the next target; a failure after
it becomes a ``StreamError`` event that the frontdoor encodes in its protocol.

The request's record gets every attempt, and the time spent waiting on upstreams
(``upstream_wait``): here, a stream's wait for its first event and the back-off sleeps between
retries (the HTTP provider adds a non-streaming exchange's wait, the stream guard the time from
a stream's first event to its end). With a tracer, each attempt is a span of its own.

A route's pool is ordered by its strategy: ``cheapest`` by the price table (input + output per
million tokens of the model each target asks for; an unpriced one last), ``fastest`` by the
recent latency of each deployment (``domain.latency``), which the service measures on every
attempt of such a route (unknown latency first, so a new target gets measured).
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import TypeVar

from domain.circuits import Breakers, Deployment
from domain.errors import ErrorKind, GatewayError
from domain.ir import (
    AnyEvent,
    ChatRequest,
    ChatResponse,
    EmbeddingRequest,
    EmbeddingResponse,
    EventStream,
    StreamError,
)
from domain.latency import EXPLORE, Latencies
from domain.ports import AttemptSpan, AttemptTracer, ChatProvider, NullObserver, ResilienceObserver
from domain.pricing import PriceTable, price_record
from domain.request_record import RequestRecord, milliseconds
from domain.resilience import ProviderPolicy, should_fail_over
from domain.routing import Route, RoutingTable, Target, attempt_order, resolve
from domain.stream_guard import guarded_stream

T = TypeVar("T")
Call = Callable[[ChatProvider, str, ProviderPolicy], Awaitable[T]]
Plan = list[tuple[Target, Deployment]]

DEFAULT_POLICY = ProviderPolicy()
ROUTE_MEMO_LIMIT = 4096


class ChatService:
    """The chat use case for one app: its routing table over the shared providers."""

    def __init__(
        self,
        table: RoutingTable,
        providers: Mapping[str, ChatProvider],
        *,
        breakers: Breakers | None = None,
        policies: Mapping[str, ProviderPolicy] | None = None,
        observer: ResilienceObserver | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        prices: PriceTable | None = None,
        latencies: Latencies | None = None,
        clock: Callable[[], float] = time.perf_counter,
        tracer: AttemptTracer | None = None,
    ) -> None:
        self._table = table
        self._routes: dict[str, Route] = {}  # resolved routes by model: the table never changes
        self._providers = providers
        self._breakers = breakers or Breakers()
        self._policies = policies or {}
        self._observer = observer or NullObserver()
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._prices = prices  # None: requests are not priced (record.cost_usd stays None)
        self._latencies = latencies or Latencies()
        self._clock = clock  # measures attempts for the fastest strategy
        self._tracer = tracer

    def route(self, model: str) -> Route:
        """``resolve``, remembered per model name (names are client-chosen: the memo is emptied
        when it holds ``ROUTE_MEMO_LIMIT`` of them). Unroutable names are not remembered."""
        route = self._routes.get(model)
        if route is None:
            route = resolve(self._table, model)
            if len(self._routes) >= ROUTE_MEMO_LIMIT:
                self._routes.clear()
            self._routes[model] = route
        return route

    async def complete(self, request: ChatRequest, record: RequestRecord) -> ChatResponse:
        if record.grant is not None:  # a gateway key: its model and tokens, before any upstream call
            await record.grant.admit_call(request, record)
        async def call(provider: ChatProvider, model: str, policy: ProviderPolicy) -> ChatResponse:
            async with _deadline(provider, policy.total):
                return await provider.complete(request, model)

        response, _, _, span = await self._run(request, record, call, measure=False)
        record.record_usage(response.usage)
        if self._prices is not None:
            price_record(record, self._prices)
        if span is not None:
            span.end(None, response)
        return response

    async def stream(self, request: ChatRequest, record: RequestRecord) -> EventStream:
        """Open the stream and pull its first event; errors up to that point are raised."""
        if record.grant is not None:
            await record.grant.admit_call(request, record)

        async def call(
            provider: ChatProvider, model: str, policy: ProviderPolicy
        ) -> tuple[AnyEvent, EventStream]:
            events = provider.stream(request, model)
            started = time.perf_counter()
            try:
                async with _deadline(provider, policy.first_byte):
                    first = await anext(events)
            except StopAsyncIteration:
                await events.aclose()
                empty = f"Provider '{provider.name}' sent an empty stream."
                raise GatewayError(ErrorKind.PROTOCOL, empty, provider=provider.name) from None
            except BaseException:
                await events.aclose()
                raise
            finally:
                record.upstream_wait += time.perf_counter() - started
            if isinstance(first, StreamError):  # an error frame before anything else: a plain failure
                await events.aclose()
                raise GatewayError(ErrorKind(first.kind), first.message, provider=provider.name)
            return first, events

        (first, events), deployment, policy, span = await self._run(request, record, call, measure=True)
        return guarded_stream(
            first, events, record, deployment, policy.idle, self._observer, self._prices, span
        )

    async def count_tokens(self, request: ChatRequest, record: RequestRecord) -> int:
        if record.grant is not None:  # counting uses no tokens: only the model is checked
            record.grant.check_model(request.model, record)
        route = self.route(request.model)
        target = route.targets[0]
        provider = self._providers.get(target.provider)
        if provider is not None and provider.counts_locally:
            # A local estimate never reaches the upstream: no retries, and no verdict on the
            # provider's circuit (it must neither close an open one nor be refused by it).
            model = target.model or request.model
            record.model, record.alias = request.model, route.alias
            record.provider, record.upstream_model = provider.name, model
            record.upstream_protocol = provider.protocol
            return await provider.count_tokens(request, model)

        async def call(provider: ChatProvider, model: str, policy: ProviderPolicy) -> int:
            async with _deadline(provider, policy.total):
                return await provider.count_tokens(request, model)

        count, _, _, span = await self._run(request, record, call, measure=None)
        if span is not None:
            span.end()
        return count

    async def embed(self, request: EmbeddingRequest, record: RequestRecord) -> EmbeddingResponse:
        """Embeddings, routed, retried and failed over like a non-streaming chat request."""
        if record.grant is not None:  # a gateway key: the model it may use (tokens settle after)
            record.grant.check_model(request.model, record)

        async def call(provider: ChatProvider, model: str, policy: ProviderPolicy) -> EmbeddingResponse:
            async with _deadline(provider, policy.total):
                return await provider.embed(request, model)

        response, _, _, span = await self._run(request, record, call, measure=None)
        record.record_usage(response.usage)
        if span is not None:
            span.end(record=record)
        return response

    async def _run(
        self,
        request: ChatRequest | EmbeddingRequest,
        record: RequestRecord,
        call: Call[T],
        *,
        measure: bool | None,
    ) -> tuple[T, Deployment, ProviderPolicy, AttemptSpan | None]:
        """Try the route's targets in order. ``measure``: the kind of latency a ``fastest`` route
        keeps for this call (True: a stream's first event, False: a whole response; None: none)."""
        route = self.route(request.model)
        tracer = self._tracer
        record.model = request.model
        record.alias = route.alias
        plan, forced = self._plan(route, request.model, measure)
        latencies = self._latencies if measure is not None and route.strategy == "fastest" else None
        error: GatewayError | None = None
        for index, (target, deployment) in enumerate(plan):
            provider = self._providers.get(target.provider)
            if provider is None:  # config validation makes this unreachable; keep the error clear
                unknown = f"Route '{route.rule}' names unknown provider '{target.provider}'."
                raise GatewayError(ErrorKind.CONFIGURATION, unknown)
            if index and not forced and not deployment.available():
                # _plan saw this circuit admit requests when the request started, but the
                # targets before it were tried since: meanwhile it may have opened, or its one
                # half-open probe may have gone to a concurrent request. Ask again, or every
                # waiting request would probe a recovering deployment at once
                # (tests/unit/domain/test_service_circuits.py).
                self._observer.targets_skipped(request.model, [target])
                continue
            model = target.model or request.model
            policy = self._policies.get(target.provider, DEFAULT_POLICY)
            record.provider, record.upstream_model = provider.name, model
            record.upstream_protocol = provider.protocol
            # A failover: not the first target tried, or a fallback standing in for a pool whose
            # circuits are open. Another pool member serving is load balancing, not a failover.
            record.failed_over = index > 0 or target not in route.targets
            held = deployment.begin()
            attempt = 0
            while True:  # the attempts on this target; the last one's outcome is its verdict
                attempt += 1
                span = tracer.attempt(record, provider, model) if tracer is not None else None
                started = time.perf_counter()
                clocked = self._clock() if latencies is not None else 0.0
                try:
                    result = await call(provider, model, policy)
                except GatewayError as exc:
                    error = exc
                except BaseException:
                    deployment.release(held)  # the client went away: no verdict on the upstream
                    if span is not None:
                        span.end("cancelled")
                    raise
                else:
                    deployment.settle(None, held)
                    _record(record, provider.name, model, "ok", started)
                    if latencies is not None:
                        latencies.observe((provider.name, model, bool(measure)), self._clock() - clocked)
                    if span is not None:
                        span.detach()
                    return result, deployment, policy, span
                _record(record, provider.name, model, error.kind.value, started)
                if span is not None:
                    span.end(error.kind.value)
                if latencies is not None and error.kind is ErrorKind.TIMEOUT:  # slow, not merely failed
                    latencies.observe((provider.name, model, bool(measure)), self._clock() - clocked)
                if not should_fail_over(error):
                    deployment.settle(error, held)
                    raise error
                delay = policy.retry.delay(attempt, error, self._rng)
                self._observer.attempt_failed(provider.name, model, error, attempt=attempt, retry_in=delay)
                if delay is None:
                    break
                slept = time.perf_counter()
                try:
                    await self._sleep(delay)
                except BaseException:
                    deployment.release(held)
                    raise
                finally:
                    record.upstream_wait += time.perf_counter() - slept
            deployment.settle(error, held)
        if error is not None:
            raise error
        raise GatewayError(ErrorKind.INTERNAL, f"No target was tried for '{request.model}'.")

    def _plan(self, route: Route, model: str, measure: bool | None) -> tuple[Plan, bool]:
        """The targets to try with their deployments, and whether they are tried although their
        circuits are open (no target of the route admits requests now)."""
        breakers = self._breakers
        if len(route.targets) == 1 and not route.fallbacks:  # the common case, on every request
            target = route.targets[0]
            deployment = breakers.deployment(target.provider, target.model or model)
            if deployment.available():
                return [(target, deployment)], False
            return self._all_open(model, [(target, deployment)]), True

        def available(target: Target) -> bool:
            return breakers.deployment(target.provider, target.model or model).available()

        ready, skipped = attempt_order(route, available, self._rng, *self._ranking(route, model, measure))
        if ready:
            if skipped:
                self._observer.targets_skipped(model, skipped)
            return [(t, breakers.deployment(t.provider, t.model or model)) for t in ready], False
        open_targets = [(t, breakers.deployment(t.provider, t.model or model)) for t in skipped]
        return self._all_open(model, open_targets), True

    def _ranking(
        self, route: Route, model: str, measure: bool | None
    ) -> tuple[Callable[[Target], float] | None, float]:
        """How ``attempt_order`` orders the route's pool: a rank (None: by weight) and the share
        of requests explored."""
        if route.strategy == "cheapest":
            prices = self._prices
            if prices is None:
                return (lambda target: 0.0), 0.0  # nothing to compare: config order

            def price_rank(target: Target) -> float:
                price = prices.price(target.provider, target.model or model)
                return math.inf if price is None else price.blend()

            return price_rank, 0.0
        if route.strategy == "fastest":
            latencies, stream = self._latencies, bool(measure)

            def latency_rank(target: Target) -> float:
                seconds = latencies.estimate((target.provider, target.model or model, stream))
                return -1.0 if seconds is None else seconds  # unknown first: it gets measured

            return latency_rank, EXPLORE
        return None, 0.0

    def _all_open(self, model: str, plan: Plan) -> Plan:
        """Every target's circuit is open: try them anyway, the nearest to its probe first, but
        refuse those whose provider sets ``fail_fast``; when that leaves none, say when to
        come back."""
        tried = [(t, d) for t, d in plan if not d.settings.fail_fast]
        if tried:
            return sorted(tried, key=lambda item: item[1].waits())
        wait = min(d.waits() for _, d in plan)
        names = ", ".join(sorted({f"{t.provider}/{d.model}" for t, d in plan}))
        raise GatewayError(
            ErrorKind.OVERLOADED,
            f"No provider can take '{model}' now: the circuit of {names} is open after repeated failures.",
            retry_after=math.ceil(wait) or 1,
        )


def _record(record: RequestRecord, provider: str, model: str, result: str, started: float) -> None:
    ms = milliseconds(time.perf_counter() - started)
    record.attempts.append({"provider": provider, "model": model, "result": result, "ms": ms})


class _deadline:
    """A deadline for a provider's answer (a stream's first event, or a whole non-streaming
    response), raised as a TIMEOUT GatewayError.

    What ``asyncio.timeout`` does (a timer that cancels the task; on exit, a cancellation that
    was the timer's and no one else's becomes the timeout), on one object per call: the
    library's adds a ``Timeout`` and two awaited coroutines to every upstream call."""

    __slots__ = ("_cancelling", "_expired", "_handle", "_provider", "_seconds", "_task")

    def __init__(self, provider: ChatProvider, seconds: float) -> None:
        self._provider = provider
        self._seconds = seconds

    async def __aenter__(self) -> None:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a deadline is used inside a task")
        self._task = task
        self._cancelling = task.cancelling()  # the cancellations already asked for are not ours
        self._expired = False
        loop = asyncio.get_running_loop()
        if self._seconds <= 0:
            self._handle: asyncio.Handle = loop.call_soon(self._expire)
        else:
            self._handle = loop.call_at(loop.time() + self._seconds, self._expire)

    def _expire(self) -> None:
        self._expired = True
        self._task.cancel()

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._handle.cancel()
        # The timer fired: its cancellation is withdrawn, and when no other one is pending the
        # CancelledError it caused is the timeout.
        if self._expired and self._task.uncancel() <= self._cancelling and kind is asyncio.CancelledError:
            name = self._provider.name
            late = f"Provider '{name}' sent no response within {self._seconds:g} s."
            raise GatewayError(ErrorKind.TIMEOUT, late, provider=name) from None
