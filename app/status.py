"""``GET /status``: every provider and every deployment in use, with its circuit, as JSON.

A provider's own fields describe its reachability circuit (connect failures, which open every
deployment of it); each deployment's (a provider and upstream model) describe that model's.
``next_probe_in_s`` and ``next_probe_at`` say when an open circuit lets the next request
through (0 and now: the next request probes it); both are null while it is closed.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Response, get
from litestar.handlers import HTTPRouteHandler

from domain.circuits import Breakers, CircuitSnapshot

_encode = msgspec.json.Encoder().encode


def status_handler(breakers: Breakers) -> HTTPRouteHandler:
    """The ``/status`` route over one config generation's circuits."""

    @get("/status", sync_to_thread=False, include_in_schema=False)
    def status() -> Response[bytes]:
        return Response(_encode(status_report(breakers)), media_type="application/json")

    return status


def status_report(breakers: Breakers) -> dict[str, Any]:
    now = time.time()
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
    return {"providers": providers}


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
