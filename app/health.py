"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

_OK = b'{"status":"ok"}'


@get("/healthz", sync_to_thread=False, include_in_schema=False)
def healthz() -> Response[bytes]:
    """200 while the process serves requests (uvicorn accepts only after start-up completes)."""
    return Response(_OK, media_type="application/json")


@get("/readyz", sync_to_thread=False, include_in_schema=False)
def readyz(request: Request[Any, Any, Any]) -> Response[bytes]:
    """200 once the lifespan start-up has run and until shutdown begins, else 503."""
    if request.app.state.get("ready"):
        return Response(_OK, media_type="application/json")
    return Response(b'{"status":"starting"}', status_code=503, media_type="application/json")
