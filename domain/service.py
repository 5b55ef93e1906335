"""ChatService: resolve a request's route and run it, riding out failing providers.

For each target in the route's attempt order (see ``domain.routing.attempt_order``): try it,
retry it on retryable failures with backoff (``RetryPolicy``), then fail over to the next
target. Each provider's circuit breaker is told every verdict and an open circuit is skipped.
Nothing is retried or failed over once the first byte of a response has gone to the client.

Streams are peeked: the first event is pulled before the frontdoor commits to a 200, so an
error before it is an ordinary HTTP error or a reason to try the next target; a failure after
it becomes a ``StreamError`` event that the frontdoor encodes in its protocol.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TypeVar

from domain.errors import ErrorKind, GatewayError
from domain.exchange import Exchange
from domain.ir import AnyEvent, ChatRequest, ChatResponse, MessageDelta, MessageStart, StreamError
from domain.ports import ChatProvider, NullObserver, ResilienceObserver
from domain.errors import RETRYABLE
from domain.resilience import FAILOVER_ONLY, Breakers, CircuitBreaker, ProviderPolicy, should_fail_over
from domain.routing import Route, RoutingTable, resolve
from domain.routing import attempt_order as _attempt_order

T = TypeVar("T")
Call = Callable[[ChatProvider, str, ProviderPolicy], Awaitable[T]]

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
    ) -> None:
        self._table = table
        self._routes: dict[str, Route] = {}  # resolved routes by model: the table never changes
        self._providers = providers
        self._breakers = breakers or Breakers()
        self._policies = policies or {}
        self._observer = observer or NullObserver()
        self._rng = rng or random.Random()
        self._sleep = sleep

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

    async def complete(self, request: ChatRequest, exchange: Exchange) -> ChatResponse:
        async def call(provider: ChatProvider, model: str, policy: ProviderPolicy) -> ChatResponse:
            async with _deadline(provider, policy.total):
                return await provider.complete(request, model)

        response, _, _ = await self._run(request, exchange, call)
        exchange.record_usage(response.usage)
        return response

    async def stream(self, request: ChatRequest, exchange: Exchange) -> AsyncIterator[AnyEvent]:
        """Open the stream and pull its first event; errors up to that point are raised."""

        async def call(
            provider: ChatProvider, model: str, policy: ProviderPolicy
        ) -> tuple[AnyEvent, AsyncIterator[AnyEvent]]:
            events = provider.stream(request, model)
            try:
                async with _deadline(provider, policy.first_byte):
                    first = await anext(events)
            except StopAsyncIteration:
                await events.aclose()  # type: ignore[attr-defined]
                raise GatewayError(
                    ErrorKind.PROTOCOL, f"Provider '{provider.name}' sent an empty stream.", provider=provider.name
                ) from None
            except BaseException:
                await events.aclose()  # type: ignore[attr-defined]
                raise
            if isinstance(first, StreamError):  # an error frame before anything else: a plain failure
                await events.aclose()  # type: ignore[attr-defined]
                raise GatewayError(ErrorKind(first.kind), first.message, provider=provider.name)
            return first, events

        (first, events), breaker, policy = await self._run(request, exchange, call)
        return _relay(first, events, exchange, breaker, policy.idle, self._observer)

    async def count_tokens(self, request: ChatRequest, exchange: Exchange) -> int:
        route = self.route(request.model)
        target = route.targets[0]
        provider = self._providers.get(target.provider)
        if provider is not None and provider.counts_locally:
            # A local estimate never reaches the upstream: no retries, and no verdict on the
            # provider's circuit (it must neither close an open one nor be refused by it).
            model = target.model or request.model
            exchange.model, exchange.alias = request.model, route.alias
            exchange.provider, exchange.upstream_model, exchange.upstream_protocol = provider.name, model, provider.protocol
            return await provider.count_tokens(request, model)

        async def call(provider: ChatProvider, model: str, policy: ProviderPolicy) -> int:
            async with _deadline(provider, policy.total):
                return await provider.count_tokens(request, model)

        count, _, _ = await self._run(request, exchange, call)
        return count

    async def _run(
        self, request: ChatRequest, exchange: Exchange, call: Call[T]
    ) -> tuple[T, CircuitBreaker, ProviderPolicy]:
        route = self.route(request.model)
        exchange.model = request.model
        exchange.alias = route.alias
        targets, skipped = _attempt_order(route, self._breakers.available, self._rng)
        if skipped:
            self._observer.targets_skipped(request.model, [t.provider for t in skipped])
        error: GatewayError | None = None
        for index, target in enumerate(targets):
            provider = self._providers.get(target.provider)
            if provider is None:  # config validation makes this unreachable; keep the error clear
                raise GatewayError(ErrorKind.CONFIGURATION, f"Route '{route.rule}' names unknown provider '{target.provider}'.")
            model = target.model or request.model
            policy = self._policies.get(target.provider, DEFAULT_POLICY)
            breaker = self._breakers.get(target.provider)
            if index and not breaker.available():
                # attempt_order saw this circuit closed or half-open when the request started,
                # but the targets before it were tried since: meanwhile it may have opened, or
                # its one half-open probe may have gone to a concurrent request. Ask again, or
                # every waiting request would probe a recovering provider at once
                # (test_half_open_fallback_probe.py).
                skipped.append(target)
                self._observer.targets_skipped(request.model, [target.provider])
                continue
            exchange.provider, exchange.upstream_model = provider.name, model
            # A failover: not the first target tried, or a fallback standing in for a pool whose
            # circuits are open. Another pool member serving is load balancing, not a failover.
            exchange.upstream_protocol = provider.protocol
            exchange.failed_over = index > 0 or target not in route.targets
            attempt = 0
            while attempt == 0 or breaker.available():
                attempt += 1
                breaker.begin()
                started = time.perf_counter()
                try:
                    result = await call(provider, model, policy)
                except GatewayError as exc:
                    error = exc
                except BaseException:
                    breaker.abandon()  # the client went away: no verdict on the provider
                    raise
                else:
                    breaker.success()
                    _record(exchange, provider.name, model, "ok", started)
                    return result, breaker, policy
                _record(exchange, provider.name, model, error.kind.value, started)
                if not should_fail_over(error):
                    breaker.success()  # the provider answered; the request itself was refused
                    raise error
                if error.kind in FAILOVER_ONLY:
                    breaker.abandon()  # e.g. an unset key: says nothing of the upstream's health
                else:
                    breaker.failure()
                delay = policy.retry.delay(attempt, error, self._rng)
                self._observer.attempt_failed(provider.name, model, error, attempt=attempt, retry_in=delay)
                if delay is None:
                    break
                await self._sleep(delay)
        if error is not None:
            raise error
        wait = min(self._breakers.get(t.provider).retry_in() for t in skipped)
        names = ", ".join(sorted({t.provider for t in skipped}))
        raise GatewayError(
            ErrorKind.OVERLOADED,
            f"No provider can take '{request.model}' now: the circuit of {names} is open after repeated failures.",
            retry_after=math.ceil(wait) or 1,
        )


def _record(exchange: Exchange, provider: str, model: str, result: str, started: float) -> None:
    ms = round((time.perf_counter() - started) * 1000, 2)
    exchange.attempts.append({"provider": provider, "model": model, "result": result, "ms": ms})


class _deadline:
    """``asyncio.timeout`` for a provider's answer (a stream's first event, or a whole
    non-streaming response), raised as a TIMEOUT GatewayError."""

    __slots__ = ("_provider", "_seconds", "_timeout")

    def __init__(self, provider: ChatProvider, seconds: float) -> None:
        self._provider = provider
        self._seconds = seconds
        self._timeout = asyncio.timeout(seconds)

    async def __aenter__(self) -> None:
        await self._timeout.__aenter__()

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            await self._timeout.__aexit__(*exc_info)  # type: ignore[arg-type]
        except TimeoutError:
            name = self._provider.name
            raise GatewayError(
                ErrorKind.TIMEOUT, f"Provider '{name}' sent no response within {self._seconds:g} s.", provider=name
            ) from None


class _IdleWatchdog:
    """Cancels the task relaying a stream when the upstream sends nothing for ``idle`` seconds.

    Armed only while the relay waits for the upstream (never while the client is being sent
    to, so a slow client is not blamed on the provider). One timer per stream, re-armed only
    when it fires: the per-event cost is a clock read.
    """

    __slots__ = ("_handle", "_idle", "_last", "_loop", "_task", "_waiting", "fired")

    def __init__(self, idle: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._idle = idle
        self._last = 0.0
        self._waiting = False
        self._handle: asyncio.TimerHandle | None = None
        self.fired = False

    def waiting(self) -> None:
        self._waiting = True
        self._last = self._loop.time()
        if self._handle is None:
            self._handle = self._loop.call_at(self._last + self._idle, self._check)

    def received(self) -> None:
        self._waiting = False

    def _check(self) -> None:
        self._handle = None
        if not self._waiting:
            return  # re-armed by the next waiting()
        remaining = self._last + self._idle - self._loop.time()
        if remaining > 0:
            self._handle = self._loop.call_at(self._last + self._idle, self._check)
        elif self._task is not None:
            self.fired = True
            self._task.cancel()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


async def _relay(
    first: AnyEvent,
    rest: AsyncIterator[AnyEvent],
    exchange: Exchange,
    breaker: CircuitBreaker,
    idle: float,
    observer: ResilienceObserver,
) -> AsyncIterator[AnyEvent]:
    """Yield ``first`` then the rest; a failure after the first event becomes ``StreamError``
    (logged, and counted against the provider's circuit when it is the provider's fault). Usage
    seen on the way goes to the exchange."""
    watchdog = _IdleWatchdog(idle)
    failure: StreamError | None = None
    crash: Exception | None = None
    try:
        if isinstance(first, MessageStart):
            exchange.record_usage(first.usage)
        yield first
        while True:
            watchdog.waiting()
            try:
                event = await rest.__anext__()
            except StopAsyncIteration:
                break
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not watchdog.fired or task is None or task.uncancel() > 0:
                    raise
                failure = StreamError(
                    kind=ErrorKind.TIMEOUT.value,
                    message=f"Provider '{exchange.provider}' sent nothing for {idle:g} s; the stream was cut.",
                )
            except GatewayError as exc:
                failure = StreamError(kind=exc.kind.value, message=exc.message)
            except Exception as exc:  # noqa: BLE001 - a bug must still end the stream cleanly
                crash = exc
                failure = StreamError(kind=ErrorKind.INTERNAL.value, message=f"Internal error: {type(exc).__name__}")
            if failure is not None:
                break
            watchdog.received()
            if isinstance(event, MessageDelta):
                exchange.record_usage(event.usage)
            elif isinstance(event, StreamError):
                _stream_failed(event, exchange, breaker, observer)
            yield event
    finally:
        watchdog.stop()
        await rest.aclose()  # type: ignore[attr-defined]
    if failure is not None:
        _stream_failed(failure, exchange, breaker, observer, crash)
        yield failure


def _stream_failed(
    failure: StreamError, exchange: Exchange, breaker: CircuitBreaker, observer: ResilienceObserver,
    crash: Exception | None = None,
) -> None:
    exchange.stream_error = failure.kind
    if failure.kind in RETRYABLE:  # the provider's fault (an error of ours or the client's is not)
        breaker.failure()
    observer.stream_failed(exchange.provider or "", exchange.upstream_model or "", failure.kind, failure.message, crash)
