"""The policy at a frontdoor's door: middleware on the router of every app when ``auth.keys`` is
set, so every route of the app (chat, token counting, model listings, and any route added
later) needs a key. (Middleware rather than a Litestar guard: a guard costs a copy of the route
handler per request.)

Per request, before its handler: the key (where the protocol's SDKs send it) -> 401; the app,
budget, rpm and concurrent -> 403 or 429 (``Grant.admit``), each refusal a ``GatewayError``
that the router renders in the protocol's shape. The grant is left on the request's record,
where the service checks the model and the tokens before any upstream call.

The outermost layer (``app/middleware.py``), which sees every response start and every request
end however it ended (an error, a client that left, a cancelled stream), calls the two other
functions: ``response_headers`` (the protocol's rate-limit headers for a key with limits) and
``settle`` (the slot given back, the token estimate replaced by the real usage, the spend,
``record.cost_usd``, added). Nothing wraps the response's ``send``: a stream's chunks pass
through no extra layer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

import structlog
from litestar.types import ASGIApp, Receive, Scope, Send

from adapters.inbound.context import record_in
from domain.policy import Grant, Policy
from domain.request_record import RequestRecord

log = structlog.get_logger("gateway.policy")

Credential = Callable[[Iterable[tuple[bytes, bytes]]], str | None]
LimitHeaders = Callable[[Grant], list[tuple[bytes, bytes]]]

LIMIT_HEADERS_KEY = "policy_limit_headers"  # in the scope's state: the protocol's header writer
STATE_UNAVAILABLE_STATUS = 503
_NO_RETRY = (b"x-should-retry", b"false")  # both SDKs honour it: a spent budget is not retried


def policy_middleware(
    policy: Policy, app_name: str, protocol: str, credential: Credential, limit_headers: LimitHeaders
) -> Callable[[ASGIApp], ASGIApp]:
    """A Litestar middleware factory: the policy for the routes of the app ``app_name``. A
    refusal is raised, and rendered by the router's exception handlers."""

    def middleware(app: ASGIApp) -> ASGIApp:
        async def gate(scope: Scope, receive: Receive, send: Send) -> None:
            record = record_in(scope, app_name, protocol)
            grant = policy.authenticate(credential(scope["headers"]), record)
            record.grant = grant
            if grant.key.limits.any:
                scope["state"][LIMIT_HEADERS_KEY] = limit_headers
            await grant.admit(app_name, record)
            await app(scope, receive, send)

        return gate

    return middleware


def response_headers(record: RequestRecord, state: dict[str, Any]) -> list[tuple[bytes, bytes]]:
    """What the policy adds to a response: the protocol's rate-limit headers (a key with
    limits), and ``x-should-retry: false`` on a spent budget."""
    grant = record.grant
    if grant is None:
        return []
    writer = state.get(LIMIT_HEADERS_KEY)
    headers = writer(grant) if writer is not None else []
    if record.rejected == "budget":
        headers.append(_NO_RETRY)
    return headers


def response_status(record: RequestRecord, status: int) -> int:
    """A refusal for an unreachable state store (``on_unavailable: deny``) is a 503 in every
    protocol."""
    return STATE_UNAVAILABLE_STATUS if record.rejected == "unavailable" else status


async def settle(record: RequestRecord) -> None:
    """Give back what the request's grant holds and add what it used; the request has ended."""
    grant = record.grant
    if grant is None:
        return
    settlement = grant.settlement(record)
    if settlement is None:
        return
    work = grant.state.settle(grant.key.name, settlement)
    task = asyncio.current_task()
    try:
        if task is not None and task.cancelling():
            # cancelled (server shutdown): on a task of its own, which a further cancellation
            # cannot stop halfway
            await asyncio.shield(work)
        else:
            await work  # no task to create on the usual path
    except Exception as exc:  # noqa: BLE001 - the response is sent; say why it was not counted
        log.error("policy.settle_failed", key=grant.key.name, exc_info=exc)
