"""The outermost ASGI layer: request id, log context, and one access-log line per request.

The id is the client's ``X-Request-ID`` when it sent a sane one, else generated; it is echoed as
``x-request-id`` and as ``request-id`` (the header the Anthropic SDK exposes as ``_request_id``).
Once a provider was tried, ``x-gateway-provider``, ``x-gateway-model`` and ``x-gateway-failover``
say which target served the response and whether it was not the first one tried.

It wraps the whole Litestar app (not a route), so 404s are logged and carry an id too. For a
stream the line is written when the stream ends, with the time to first byte.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

import structlog

from adapters.inbound.context import EXCHANGE_KEY
from domain.exchange import Exchange

log = structlog.get_logger("gateway.access")

_VALID_ID = re.compile(rb"^[A-Za-z0-9._:\-]{1,128}$")
_REQUEST_ID = b"x-request-id"
_ANTHROPIC_REQUEST_ID = b"request-id"  # what the Anthropic SDK reads into ``_request_id``


def _request_id(headers: list[tuple[bytes, bytes]]) -> bytes:
    for name, value in headers:
        if name == _REQUEST_ID and _VALID_ID.match(value):
            return value
    return os.urandom(12).hex().encode()


class AccessLogMiddleware:
    def __init__(self, app: Any, *, enabled: bool = True) -> None:
        self.app = app
        self.enabled = enabled

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = _request_id(scope["headers"])
        exchange = Exchange()
        state = scope.get("state")
        if state is None:
            state = scope["state"] = {}
        state[EXCHANGE_KEY] = exchange
        status = 0
        first_byte: float | None = None

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status, first_byte
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ()), (_REQUEST_ID, rid), (_ANTHROPIC_REQUEST_ID, rid)]
                if exchange.provider is not None:  # which target served it (or failed last)
                    headers += (
                        (b"x-gateway-provider", exchange.provider.encode()),
                        (b"x-gateway-model", (exchange.upstream_model or "").encode()),
                        (b"x-gateway-failover", b"true" if exchange.failed_over else b"false"),
                    )
                message["headers"] = headers
            elif first_byte is None and message.get("body"):
                first_byte = time.perf_counter()
            await send(message)

        request_id = rid.decode()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
            if self.enabled:
                now = time.perf_counter()
                log.info(
                    "request.completed",
                    request_id=request_id,
                    method=scope["method"],
                    path=scope["path"],
                    status=status or 499,  # 499: the client went away before a response started
                    duration_ms=round((now - started) * 1000, 2),
                    ttfb_ms=round((first_byte - started) * 1000, 2) if first_byte else None,
                    **exchange.fields(),
                )
