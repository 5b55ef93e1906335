"""``GET /admin/usage``: per gateway key, what it used in its current period and what is left.

Behind ``AdminAccess`` (``auth.admin_keys`` as ``Authorization: Bearer``). One entry per key
of the running config: its usage period (the budget's, else ``total``), requests, input and
output tokens, spend, the budget and what remains of it, its limits, and the live counts
(requests and tokens in the last minute, requests in flight).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Response, get
from litestar.handlers import HTTPRouteHandler

from app.admin_access import AdminAccess
from domain.policy import Policy

_encode = msgspec.json.Encoder().encode


async def usage_report(policy: Policy | None) -> dict[str, Any]:
    if policy is None:
        return {"keys": []}
    entries = []
    for key in policy.table.keys:
        period = key.usage_period
        usage = await policy.state.usage(key.name, period)
        budget = key.budget
        limits = key.limits
        entries.append({
            "name": key.name,
            "period": period,
            "requests": usage.requests,
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "spend_usd": round(usage.spend_usd, 6),
            "budget_usd": None if budget is None else budget.usd,
            "remaining_usd": None if budget is None else round(max(0.0, budget.usd - usage.spend_usd), 6),
            "limits": {"rpm": limits.rpm, "tpm": limits.tpm, "concurrent": limits.concurrent},
            "in_flight": usage.in_flight,
            "requests_last_minute": usage.requests_last_minute,
            "tokens_last_minute": usage.tokens_last_minute,
        })  # fmt: skip
    return {"keys": entries}


def usage_handler(policy: Policy | None, access: AdminAccess) -> HTTPRouteHandler:
    @get("/admin/usage", guards=[access.guard], include_in_schema=False)
    async def admin_usage() -> Response[bytes]:
        return Response(_encode(await usage_report(policy)), media_type="application/json")

    return admin_usage

