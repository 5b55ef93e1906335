"""The outermost ASGI layer: request id, log context, client disconnects, and one access-log
line per request.

The id is the client's ``X-Request-ID`` when it sent a sane one, else generated; it is echoed as
``x-request-id`` and as ``request-id`` (the header the Anthropic SDK exposes as ``_request_id``).
Once a provider was tried, ``x-gateway-provider``, ``x-gateway-model`` and ``x-gateway-failover``
say which target served the response and whether it was not the first one tried (unless
``server.expose_routing_headers`` is off); ``x-gateway-cost-usd`` what a non-streaming response
cost (a stream's cost is in its access-log line). The access-log line leaves out fields without a value.
A request under a gateway key (``record.grant``) gets its key's rate-limit headers here, and
its grant is settled here when it ends, however it ends (``adapters/inbound/policy_gate.py``).

A client that goes away before its response ends (a non-streaming request waiting on the
upstream, a stream not yet peeked, or a stream under way) cancels the request at once, and with
it the upstream call: once the body is read, the disconnect is watched for; it is also handed
to whoever asks ``receive()`` for it next. Under our server (``app/server.py``) the
connection calls back when it is lost (the scope's ``gateway.disconnect`` extension): nothing
per request but that callback. Under another server a watcher task owns ``receive()``; it
starts only when a response has not ended ``WATCH_AFTER`` seconds after its body was read (a
timer is all a quick request pays for). Either way a disconnect is acted on at once. It wraps
the whole Litestar app, not a route, so 404s are logged and carry an id as well. For a stream
the log line is written when the stream ends, with the time to first byte.

The same moment feeds the other sinks of the request's record: the Prometheus metrics
(``infrastructure/metrics``) and, when tracing is on, the request's server span
(``infrastructure/tracing.py``), which starts here (continuing the client's ``traceparent``) and
is the current span while the request runs. While it runs the record is also
``domain.request_record.CURRENT``, for the code below the service that adds to it.
"""

from __future__ import annotations

import asyncio
import re
import string
from random import getrandbits
from time import perf_counter
from typing import Any
from urllib.parse import quote

import structlog

from adapters.inbound.context import RECORD_KEY
from adapters.inbound.policy_gate import response_headers as policy_headers
from adapters.inbound.policy_gate import response_status, settle
from app.traffic import RecentTraffic
from domain.request_record import CURRENT, RequestRecord, milliseconds
from infrastructure.metrics import GatewayMetrics
from infrastructure.tracing import Tracing

log = structlog.get_logger("gateway.access")

# The context variable ``bind_contextvars(request_id=...)`` uses, set and reset directly: the
# same binding at a fraction of the cost of binding and unbinding by name per request.
_bound = structlog.contextvars.bind_contextvars(request_id=None)["request_id"]
_REQUEST_ID_VAR = _bound.var
_REQUEST_ID_VAR.reset(_bound)

_VALID_ID = re.compile(rb"^[A-Za-z0-9._:\-]{1,128}$")
_REQUEST_ID = b"x-request-id"
_ANTHROPIC_REQUEST_ID = b"request-id"  # what the Anthropic SDK reads into ``_request_id``
CLIENT_CLOSED = 499  # nginx's status for "the client closed the connection first"
WATCH_AFTER = 0.05  # seconds
_DISCONNECT_HOOKS = "gateway.disconnect"  # the scope extension app/server.py sets
_HEADER_SAFE = "".join(c for c in string.punctuation if c != "%") + " "


def header_text(text: str) -> bytes:
    """``text`` as a response header value: printable ASCII as it is, anything else (non-ASCII
    letters, and control characters should one ever get this far) percent-encoded as UTF-8, so
    no value can break the response head. Remembered: the values are provider and model names,
    the same on most responses (model names are client-chosen: the memo is emptied when it holds
    ``HEADER_MEMO_LIMIT`` of them)."""
    value = _header_values.get(text)
    if value is None:
        if text.isascii() and text.isprintable():
            value = text.encode()
        else:
            value = quote(text, safe=_HEADER_SAFE).encode()
        if len(_header_values) >= HEADER_MEMO_LIMIT:
            _header_values.clear()
        _header_values[text] = value
    return value


HEADER_MEMO_LIMIT = 1024
_header_values: dict[str, bytes] = {}


def cost_header(cost: float) -> bytes:
    """A cost in USD as plain decimals (never an exponent), without trailing zeros."""
    return (f"{cost:.10f}".rstrip("0").rstrip(".") or "0").encode()


def _request_id(headers: list[tuple[bytes, bytes]]) -> bytes:
    for name, value in headers:
        if name == _REQUEST_ID and _VALID_ID.match(value):
            return value
    return b"%024x" % getrandbits(96)  # 24 hex digits, like os.urandom(12).hex(), without a syscall


class _Request:
    """One request's state: what was sent, and the disconnect watcher."""

    __slots__ = (
        "complete", "disconnect", "first_byte", "hooks", "left", "lost", "receive", "started", "status",
        "task", "timer", "watcher",
    )  # fmt: skip

    def __init__(self, receive: Any, scope: dict[str, Any]) -> None:
        self.receive = receive
        extensions = scope.get("extensions")
        # (watch, unwatch) of the connection's loss, when the server offers them
        self.hooks: tuple[Any, Any] | None = extensions.get(_DISCONNECT_HOOKS) if extensions else None
        self.lost: Any = None  # the callback handed to watch
        self.task = asyncio.current_task()
        self.status = 0
        self.first_byte: float | None = None
        self.started = False  # the response has started
        self.complete = False  # the response has ended
        self.left = False  # the client went away before the response ended: we cancelled
        self.disconnect: asyncio.Future[dict[str, Any]] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.watcher: asyncio.Task[None] | None = None

    async def app_receive(self) -> dict[str, Any]:
        if self.disconnect is not None:  # the body was read: the watcher owns receive()
            return await asyncio.shield(self.disconnect)
        message: dict[str, Any] = await self.receive()
        if message["type"] == "http.request" and not message.get("more_body", False):
            loop = asyncio.get_running_loop()
            self.disconnect = loop.create_future()
            if self.hooks is not None:
                self.lost = self._lost
                self.hooks[0](self.lost)
            else:
                self.timer = loop.call_later(WATCH_AFTER, self._start_watching)
        return message

    def _lost(self) -> None:
        """The connection was lost (the server's callback)."""
        self.lost = None
        if self.disconnect is not None and not self.disconnect.done():
            self.disconnect.set_result({"type": "http.disconnect"})
        if not self.complete and self.task is not None:
            self.left = True
            self.task.cancel()

    def _start_watching(self) -> None:
        self.timer = None
        if not self.complete:
            self.watcher = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        message = await self.receive()  # after the body only http.disconnect can come
        assert self.disconnect is not None
        self.disconnect.set_result(message)
        if not self.complete and self.task is not None:
            self.left = True
            self.task.cancel()

    def stop_watching(self) -> None:
        if self.lost is not None:
            assert self.hooks is not None
            self.hooks[1](self.lost)
            self.lost = None
        if self.timer is not None:
            self.timer.cancel()
        if self.watcher is not None and not self.watcher.done():
            self.watcher.cancel()


class AccessLogMiddleware:
    def __init__(
        self,
        app: Any,
        *,
        enabled: bool = True,
        expose_routing_headers: bool = True,
        traffic: RecentTraffic | None = None,
        metrics: GatewayMetrics | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self.app = app
        self.enabled = enabled  # server.access_log
        self.expose_routing_headers = expose_routing_headers  # the x-gateway-* headers
        self.traffic = traffic  # the status page's recent traffic: requests to an app
        self.metrics = metrics  # None: no metrics (the benchmark's baseline)
        self.tracing = tracing  # None: tracing is off

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        rid = _request_id(scope["headers"])
        record = RequestRecord()
        state = scope.get("state")
        if state is None:
            state = scope["state"] = {}
        state[RECORD_KEY] = record
        request = _Request(receive, scope)

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                request.started = True
                request.status = message["status"]
                headers = [*message.get("headers", ()), (_REQUEST_ID, rid), (_ANTHROPIC_REQUEST_ID, rid)]
                # who served it (or failed last)
                if record.provider is not None and self.expose_routing_headers:
                    headers += (
                        (b"x-gateway-provider", header_text(record.provider)),
                        (b"x-gateway-model", header_text(record.upstream_model or "")),
                        (b"x-gateway-failover", b"true" if record.failed_over else b"false"),
                    )
                if record.cost_usd is not None and not record.stream:  # a stream is priced at its end
                    headers.append((b"x-gateway-cost-usd", cost_header(record.cost_usd)))
                if record.grant is not None:  # a gateway key: its rate-limit headers
                    headers += policy_headers(record, state)
                    message["status"] = request.status = response_status(record, request.status)
                message["headers"] = headers
            else:
                if request.first_byte is None and message.get("body"):
                    request.first_byte = perf_counter()
                if not message.get("more_body", False):
                    request.complete = True
            await send(message)

        request_id = rid.decode()
        bound = _REQUEST_ID_VAR.set(request_id)
        current = CURRENT.set(record)
        tracing = self.tracing
        span = tracing.start_server(scope, record) if tracing is not None else None
        try:
            await self.app(scope, request.app_receive, send_with_id)
        except asyncio.CancelledError:
            if not request.left or request.task is None or request.task.uncancel() > 0:
                raise  # a cancellation that is not ours (server shutdown): let it through
        finally:
            request.stop_watching()
            if record.grant is not None:  # the request has ended, however: give back, add usage
                await settle(record)
            try:
                _REQUEST_ID_VAR.reset(bound)
                CURRENT.reset(current)
            except ValueError:  # finished in another context than it started in: unbind
                _REQUEST_ID_VAR.set(...)
                CURRENT.set(None)
            now = perf_counter()
            left_first = (request.left and not request.started) or not request.status
            status = CLIENT_CLOSED if left_first else request.status
            first_byte = None if request.first_byte is None else request.first_byte - started
            if span is not None:
                span.end(record, status)
            if self.metrics is not None:
                self.metrics.observe(record, status, now - started, first_byte)
            if self.traffic is not None and record.app:
                self.traffic.add(record, status, now - started, first_byte)
            if self.enabled:
                fields: dict[str, Any] = {
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "client_left": request.left,
                    "duration_ms": milliseconds(now - started),
                }
                if request.first_byte:
                    fields["ttfb_ms"] = milliseconds(request.first_byte - started)
                record.add_fields(fields)
                log.info("request.completed", **fields)
