"""``GET /status``: the live status page for a person, or its data as JSON.

JSON when the request asks for it (``Accept: application/json``, or ``?format=json``); the page
otherwise: one self-contained HTML document (``status_page.html``: inline CSS and script, no
external resource) that fetches the JSON every few seconds and draws it.

The JSON holds every provider and every deployment in use with its circuit. A provider's own
circuit fields describe its reachability (connect failures, which open every deployment of
it); each deployment's (a provider and upstream model) describe that model's.
``next_probe_in_s`` and ``next_probe_at`` say when an open circuit lets the next request
through (0 and now: the next request probes it); both are null while it is closed. Beside them:
recent traffic (``app/traffic.py``) in total and per app, provider and gateway key (keys only
when ``auth.keys`` is configured), the config generation and when it was loaded, and the worker
process that answered (with ``--workers N`` each worker counts its own traffic).

Access follows ``auth.admin_keys`` (``AdminAccess``): open without any; otherwise the JSON
needs ``Authorization: Bearer <admin key>``, and a page requested without it is answered 401
with the page itself, holding no data, which asks for the key, keeps it in the tab's
``sessionStorage`` and sends it with each fetch.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import HTTPRouteHandler

from app.admin_access import AdminAccess
from app.traffic import OTHER, SLOT_SECONDS, WINDOW_SECONDS, RecentTraffic, Series
from domain.circuits import Breakers, CircuitSnapshot
from infrastructure.config.schema import GatewayConfig

_encode = msgspec.json.Encoder().encode
_NO_STORE = {"cache-control": "no-store"}
# The page runs its own inline script and style, and talks to nothing but this server.
_PAGE_HEADERS = {
    **_NO_STORE,
    "content-security-policy": (
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
}


@dataclass(frozen=True)
class Generation:
    """Which config generation serves: 0 the one the server started with, then one per reload."""

    number: int
    loaded_at: float  # seconds since the epoch
    source: str  # the config file


@dataclass
class StatusSources:
    """What the status report is made of, for one config generation."""

    breakers: Breakers
    config: GatewayConfig
    access: AdminAccess
    traffic: RecentTraffic | None = None
    generation: Callable[[], Generation] | None = None


def status_handler(sources: StatusSources) -> HTTPRouteHandler:
    """The ``/status`` route over one config generation's circuits."""

    @get("/status", sync_to_thread=False, include_in_schema=False)
    def status(request: Request[Any, Any, Any]) -> Response[bytes]:
        wants_json = _wants_json(request.headers.get("accept", ""), request.query_params.get("format"))
        if not sources.access.allows(request.headers.get("authorization")):
            if wants_json:
                raise NotAuthorizedException(
                    detail="this endpoint needs an admin key (auth.admin_keys) as 'Authorization: Bearer'",
                    headers={"www-authenticate": "Bearer"},
                )
            return Response(status_page(), status_code=401, media_type="text/html; charset=utf-8",
                            headers={**_PAGE_HEADERS, "www-authenticate": "Bearer"})  # fmt: skip
        if wants_json:
            return Response(_encode(status_report(sources)), media_type="application/json", headers=_NO_STORE)
        return Response(status_page(), media_type="text/html; charset=utf-8", headers=_PAGE_HEADERS)

    return status


def _wants_json(accept: str, format_: str | None) -> bool:
    if format_ is not None:
        return format_ == "json"
    return "application/json" in accept and "text/html" not in accept


@cache
def status_page() -> bytes:
    return (resources.files("app") / "status_page.html").read_bytes()


def status_report(sources: StatusSources) -> dict[str, Any]:
    now = time.time()
    breakers, config, traffic = sources.breakers, sources.config, sources.traffic
    providers: list[dict[str, Any]] = []
    for circuit in breakers.snapshot():
        if circuit.model is None:
            settings = breakers.settings(circuit.provider)
            providers.append(
                {
                    "name": circuit.provider,
                    "breaker_enabled": settings.enabled,
                    "fail_fast": settings.fail_fast,
                    **_fields(circuit, now),
                    "deployments": [],
                }
            )
        else:
            providers[-1]["deployments"].append({"model": circuit.model, **_fields(circuit, now)})
    report: dict[str, Any] = {"providers": providers}
    kinds = {p.name: p.type for p in config.providers}
    for provider in providers:
        provider["type"] = kinds.get(provider["name"])
    generation = sources.generation() if sources.generation else None
    report["config"] = {
        "generation": generation.number if generation else 0,
        "loaded_at": _timestamp(generation.loaded_at) if generation else None,
        "source": generation.source if generation else None,
    }
    report["worker"] = {"pid": os.getpid(), "workers": config.server.workers}
    report["now"] = _timestamp(now)
    report["apps"] = [{"name": a.name, "frontdoor": a.frontdoor, "path": a.path} for a in config.apps]
    if traffic is None:
        return report
    report["window_s"] = WINDOW_SECONDS
    report["slot_s"] = SLOT_SECONDS
    report["since"] = _timestamp(traffic.started)
    report["traffic"] = traffic.summary(traffic.total)
    for app in report["apps"]:
        app["traffic"] = _traffic_of(traffic, traffic.apps, app["name"])
    for provider in providers:
        provider["traffic"] = _traffic_of(traffic, traffic.providers, provider["name"])
    other = _other(traffic, traffic.apps)
    if other is not None:
        report["other_apps"] = other
    other = _other(traffic, traffic.providers)
    if other is not None:
        report["other_providers"] = other
    if config.auth.keys:
        report["keys"] = [_key(traffic, key.name, key.budget) for key in config.auth.keys]
    return report


def _traffic_of(traffic: RecentTraffic, series: dict[str, Series], name: str) -> dict[str, Any] | None:
    found = series.get(name)
    return None if found is None else traffic.summary(found)


def _other(traffic: RecentTraffic, series: dict[str, Series]) -> dict[str, Any] | None:
    """The traffic of names the config does not hold (gone in a reload), if there was any."""
    summary = traffic.summary(series[OTHER])
    return summary if summary["requests"] or summary["attempts"] else None


def _key(traffic: RecentTraffic, name: str, budget: Any) -> dict[str, Any]:
    series = traffic.keys.get(name)
    requests, tokens, cost = series.since_start if series else (0, 0, 0.0)
    return {
        "name": name,
        "traffic": traffic.summary(series) if series else None,
        "since_start": {"requests": requests, "tokens": tokens, "cost_usd": round(cost, 6)},
        "budget": None if budget is None else {"usd": budget.usd, "period": budget.period},
    }


def _fields(circuit: CircuitSnapshot, now: float) -> dict[str, Any]:
    probe_in = circuit.next_probe_in
    return {
        "state": circuit.state,
        "requests": circuit.requests,
        "failures": circuit.failures,
        "failure_ratio": circuit.failure_ratio,
        "consecutive_failures": circuit.consecutive_failures,
        "trips": circuit.trips,
        "cooldown_s": circuit.cooldown,
        "next_probe_in_s": probe_in,
        "next_probe_at": None if probe_in is None else _timestamp(now + probe_in),
        "probe_in_flight": circuit.probing,
    }


def _timestamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
