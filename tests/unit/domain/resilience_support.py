"""Fakes and a harness for the service's resilience tests: scripted providers, a fake clock."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import aclosing

from domain.circuits import Breakers, BreakerSettings, Deployment
from domain.errors import ErrorKind, GatewayError
from domain.ir import (
    AnyEvent,
    BlockDelta,
    BlockStart,
    BlockStop,
    ChatRequest,
    ChatResponse,
    Message,
    MessageDelta,
    MessageStart,
    MessageStop,
    TextBlock,
    TextDelta,
)
from domain.ports import NullObserver
from domain.request_record import RequestRecord
from domain.resilience import ProviderPolicy, RetryPolicy
from domain.routing import Destination, RoutingTable, Target
from domain.service import ChatService

OK = "ok"
REQUEST = ChatRequest(model="m", messages=[Message(role="user", content=[TextBlock(text="hi")])])


def err(
    kind: ErrorKind, status: int | None = None, retry_after: float | None = None, *, unreachable: bool = False
) -> GatewayError:
    return GatewayError(kind, f"scripted {kind.value}", status=status, retry_after=retry_after, unreachable=unreachable)


def text_events(n: int = 3) -> list[AnyEvent]:
    return [
        MessageStart(id="msg_1", model="m"),
        BlockStart(index=0, block=TextBlock(text="")),
        *[BlockDelta(index=0, delta=TextDelta(text=f"t{i}")) for i in range(n)],
        BlockStop(index=0),
        MessageDelta(stop_reason="end_turn"),
        MessageStop(),
    ]


class FakeProvider:
    """Answers from a script: one outcome per call (an error, OK, or a list of stream steps:
    events, errors to raise, or floats meaning "sleep that long"). A request whose text is
    ``chokes_on`` gets a 500 whatever the script says (a prompt the upstream chokes on)."""

    protocol = "openai"
    counts_locally = False

    def __init__(self, name: str, *script: object, delay: float = 0.0, chokes_on: str | None = None) -> None:
        self.name = name
        self.script = list(script)
        self.chokes_on = chokes_on
        self.served: list[str] = []  # the text of each request answered 200
        self.calls = 0
        self.delay = delay
        self.closed = 0

    def _next(self) -> object:
        self.calls += 1
        return self.script.pop(0) if self.script else OK

    async def complete(self, request: ChatRequest, model: str) -> ChatResponse:
        outcome = self._next()
        await asyncio.sleep(self.delay)
        text = request.messages[0].content[0].text  # type: ignore[union-attr]
        if self.chokes_on is not None and text == self.chokes_on:
            raise err(ErrorKind.UPSTREAM, 500)
        if isinstance(outcome, GatewayError):
            raise outcome
        self.served.append(text)
        return ChatResponse(id="r", model=model, content=[TextBlock(text=self.name)])

    async def stream(self, request: ChatRequest, model: str) -> AsyncIterator[AnyEvent]:
        outcome = self._next()
        try:
            await asyncio.sleep(self.delay)
            if isinstance(outcome, GatewayError):
                raise outcome
            for step in text_events() if outcome == OK else outcome:  # type: ignore[union-attr]
                if isinstance(step, GatewayError):
                    raise step
                if isinstance(step, float):
                    await asyncio.sleep(step)
                    continue
                yield step
        finally:
            self.closed += 1

    async def count_tokens(self, request: ChatRequest, model: str) -> int:
        return 1


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Harness:
    """A ChatService over fake providers, a fake clock and no real sleeping. The default route
    is ``targets`` (weighted) or the first provider, with ``fallbacks``; ``"<provider>/<model>"``
    asks that provider alone for that model. Circuit changes land in ``changes``."""

    def __init__(self, *providers: FakeProvider, fallbacks: tuple[str, ...] = (), targets: tuple[tuple[str, float], ...] = (),
                 attempts: int = 2, consecutive: int = 3, first_byte: float = 5.0, idle: float = 5.0,
                 total: float = 5.0, breaker: BreakerSettings | None = None,
                 per_provider: dict[str, BreakerSettings] | None = None) -> None:
        self.providers = {p.name: p for p in providers}
        self.sleeps: list[float] = []
        self.clock = Clock()
        self.changes: list[tuple[str, str | None, str]] = []
        self.observer = Recorder()
        pool = tuple(Target(provider=n, weight=w) for n, w in targets) or (Target(provider=providers[0].name),)
        destination = Destination(targets=pool, fallbacks=tuple(Target(provider=f) for f in fallbacks))
        # By default only the consecutive rule trips, so that a test can count to it.
        settings = breaker or BreakerSettings(consecutive_failures=consecutive, min_requests=10_000)
        self.breakers = Breakers(
            {p.name: settings for p in providers} | (per_provider or {}), clock=self.clock,
            on_change=lambda c: self.changes.append((c.provider, c.model, c.state)),
        )
        policy = ProviderPolicy(
            retry=RetryPolicy(attempts=attempts, retry_after_cap=10.0), first_byte=first_byte, idle=idle, total=total
        )

        async def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)

        table = RoutingTable(default=destination, prefix_providers={n: n for n in self.providers})
        self.service = ChatService(
            table, self.providers, breakers=self.breakers,
            policies={n: policy for n in self.providers}, rng=random.Random(7), sleep=sleep, observer=self.observer,
        )

    def deployment(self, provider: str, model: str = "m") -> Deployment:
        return self.breakers.deployment(provider, model)

    async def complete(self, model: str = "m", text: str = "hi") -> tuple[ChatResponse, RequestRecord]:
        record = RequestRecord()
        return await self.service.complete(ask(model, text), record), record

    async def stream(self) -> tuple[list[AnyEvent], RequestRecord]:
        record = RequestRecord()
        events = await self.service.stream(REQUEST, record)
        async with aclosing(events):  # type: ignore[type-var]
            return [e async for e in events], record


class Recorder(NullObserver):
    """Keeps the targets passed over, as (requested model, provider, upstream model)."""

    def __init__(self) -> None:
        self.skipped: list[tuple[str, str, str | None]] = []

    def targets_skipped(self, model: str, targets: list[Target]) -> None:
        self.skipped += [(model, t.provider, t.model) for t in targets]


def ask(model: str = "m", text: str = "hi") -> ChatRequest:
    return ChatRequest(model=model, messages=[Message(role="user", content=[TextBlock(text=text)])])
