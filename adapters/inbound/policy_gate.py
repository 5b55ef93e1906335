"""The policy at a frontdoor's door: ASGI middleware on the router of every app when
``auth.keys`` is set, so every route of the app (chat, token counting, model listings, and any
route added later) needs a key.

Per request: the key (where the protocol's SDKs send it) -> 401; the app, budget, rpm and
concurrent -> 403 or 429 (``Grant.admit``); the grant is left on the request's record, where the
service checks the model and the tokens before any upstream call. Every response to a key with
limits carries the protocol's rate-limit headers. When the response has ended, however it
ended (an error, a client that left, a cancelled stream), the grant is settled: its slot given
back, its token estimate replaced by the real usage, its spend (``record.cost_usd``) added.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

import structlog
from litestar.types import ASGIApp, Receive, Scope, Send

from adapters.inbound.context import record_in
from domain.errors import GatewayError
from domain.policy import Grant, Policy

log = structlog.get_logger("gateway.policy")

Credential = Callable[[Iterable[tuple[bytes, bytes]]], str | None]
LimitHeaders = Callable[[Grant], list[tuple[bytes, bytes]]]
ErrorBody = Callable[[GatewayError], tuple[int, list[tuple[bytes, bytes]], bytes]]

STATE_UNAVAILABLE_STATUS = 503
_NO_RETRY = (b"x-should-retry", b"false")  # both SDKs honour it: a spent budget is not retried


def policy_middleware(
    policy: Policy, app_name: str, protocol: str, credential: Credential, limit_headers: LimitHeaders,
    render: ErrorBody,
) -> Callable[[ASGIApp], ASGIApp]:  # fmt: skip
    """A Litestar middleware factory: the policy for the routes of the app ``app_name``."""
    state = policy.state

    def middleware(app: ASGIApp) -> ASGIApp:
        async def gate(scope: Scope, receive: Receive, send: Send) -> None:
            record = record_in(scope, app_name, protocol)
            grant: Grant | None = None
            try:
                grant = policy.authenticate(credential(scope["headers"]), record)
                record.grant = grant
                await grant.admit(app_name, record)
            except GatewayError as error:
                told = [] if grant is None else limit_headers(grant)
                await _refuse(send, render, error, record.rejected, told)
                return
            limited = grant.key.limits.any

            async def send_with_limits(message: Any) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", ()), *limit_headers(grant)]
                    if record.rejected == "unavailable":
                        message["status"] = STATE_UNAVAILABLE_STATUS
                await send(message)

            try:
                await app(scope, receive, send_with_limits if limited else send)
            finally:
                settlement = grant.settlement(record)
                if settlement is not None:
                    settle = state.settle(grant.key.name, settlement)
                    task = asyncio.current_task()
                    try:
                        if task is not None and task.cancelling():
                            # cancelled (the client left): settle on a task of its own, which a
                            # further cancellation cannot stop halfway
                            await asyncio.shield(settle)
                        else:
                            await settle  # no task to create on the usual path
                    except Exception as exc:  # noqa: BLE001 - the response is sent; say why it was not counted
                        log.error("policy.settle_failed", key=grant.key.name, exc_info=exc)

        return gate

    return middleware


async def _refuse(
    send: Send, render: ErrorBody, error: GatewayError, rejected: str | None, told: list[tuple[bytes, bytes]]
) -> None:
    status, headers, body = render(error)
    headers = [*headers, *told]
    if rejected == "budget":
        headers.append(_NO_RETRY)
    elif rejected == "unavailable":
        status = STATE_UNAVAILABLE_STATUS
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
