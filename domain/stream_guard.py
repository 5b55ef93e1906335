"""A stream after its first event, guarded: usage recorded on the way, an idle upstream cut
off, and a failure turned into a ``StreamError`` event (logged, and counted against the
deployment's circuit when it is the upstream's fault). The time from its first event to its
end is added to the record's ``upstream_wait``: the gateway's work on each event overlaps the
upstream's generation of the next, so what the gateway adds to a stream's time is before its
first event and after its last (two clock reads a stream, none per event). The attempt's span,
when traced, ends with the stream.

Per event, the events' types are compared exactly (``type(event) is MessageDelta``): the IR's
event classes have no subclasses, and ``isinstance`` with a msgspec class that does not match
goes through the metaclass's instance check, several times the cost of the comparison."""

from __future__ import annotations

import asyncio

from domain.circuits import Deployment
from domain.errors import ErrorKind, GatewayError
from domain.ir import AnyEvent, EventStream, MessageDelta, MessageStart, StreamError
from domain.ports import AttemptSpan, ResilienceObserver
from domain.pricing import PriceTable, price_record
from domain.request_record import RequestRecord


class IdleWatchdog:
    """Cancels the task passing a stream on when the upstream sends nothing for ``idle`` seconds.

    Armed only while the stream waits for the upstream (never while the client is being sent
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

    def now(self) -> float:
        return self._loop.time()

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


async def guarded_stream(
    first: AnyEvent,
    rest: EventStream,
    record: RequestRecord,
    deployment: Deployment,
    idle: float,
    observer: ResilienceObserver,
    prices: PriceTable | None = None,
    span: AttemptSpan | None = None,
) -> EventStream:
    """Yield ``first`` then the rest; a failure after the first event becomes ``StreamError``
    (logged, and counted against the deployment's circuit when it is the upstream's fault).
    Usage seen on the way goes to the record; when the stream ends, however it ends (finished,
    failed, or closed by a client that left), the record is priced from the usage seen."""
    watchdog = IdleWatchdog(idle)
    failure: StreamError | None = None
    crash: Exception | None = None
    model: str | None = None
    finish: str | None = None
    begun = watchdog.now()
    try:
        if isinstance(first, MessageStart):
            record.record_usage(first.usage)
            model = first.model
        yield first
        next_event, waiting, received = rest.__anext__, watchdog.waiting, watchdog.received
        while True:
            waiting()
            try:
                event = await next_event()
            except StopAsyncIteration:
                break
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not watchdog.fired or task is None or task.uncancel() > 0:
                    raise
                failure = StreamError(
                    kind=ErrorKind.TIMEOUT.value,
                    message=f"Provider '{record.provider}' sent nothing for {idle:g} s; the stream was cut.",
                )
            except GatewayError as exc:
                failure = StreamError(kind=exc.kind.value, message=exc.message)
            except Exception as exc:  # noqa: BLE001 - a bug must still end the stream cleanly
                crash = exc
                internal = f"Internal error: {type(exc).__name__}"
                failure = StreamError(kind=ErrorKind.INTERNAL.value, message=internal)
            if failure is not None:
                break
            received()
            if type(event) is MessageDelta:
                record.record_usage(event.usage)
                finish = event.stop_reason
            elif type(event) is StreamError:
                _stream_failed(event, record, deployment, observer)
            yield event
    finally:
        record.upstream_wait += watchdog.now() - begun
        watchdog.stop()
        if prices is not None:
            price_record(record, prices)
        await rest.aclose()
        if span is not None:
            kind = failure.kind if failure is not None else record.stream_error
            span.end(kind, model=model, finish_reason=finish, record=record)
    if failure is not None:
        _stream_failed(failure, record, deployment, observer, crash)
        yield failure


def _stream_failed(
    failure: StreamError, record: RequestRecord, deployment: Deployment, observer: ResilienceObserver,
    crash: Exception | None = None,
) -> None:
    record.stream_error = failure.kind
    deployment.failed_late(failure.kind)  # counted only when it is the upstream's fault
    provider, model = record.provider or "", record.upstream_model or ""
    observer.stream_failed(provider, model, failure.kind, failure.message, crash)
