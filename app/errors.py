"""Requests no route serves (404, 405), answered in the protocol of the app whose path they hit,
with a message that says what the gateway does serve there.

The Anthropic API answers an unknown path with 404 ``not_found_error`` and a wrong method with
405 ``invalid_request_error``; the OpenAI API answers an unknown URL with
``invalid_request_error``. Outside every app the body carries both shapes' fields
(``{"type": "error", "error": {"type", "message"}}``), which both SDKs read, and names the
paths the apps are mounted at: the usual first mistake is a ``base_url`` without one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.routes import ASGIRoute

from adapters.inbound.context import record_in
from adapters.inbound.frontdoor import Frontdoor
from adapters.inbound.handlers import from_http_exception

_encode = msgspec.json.Encoder().encode
_PARAM = re.compile(r"\{(\w+):\w+\}")  # "{model_id:path}" -> "{model_id}"
_IGNORED_METHODS = frozenset({"OPTIONS", "HEAD"})


@dataclass(frozen=True, slots=True)
class MountedApp:
    path: str  # "/openai"
    name: str  # the app's name in the config
    protocol: str  # its frontdoor: "openai" | "anthropic"
    frontdoor: Frontdoor

    def holds(self, path: str) -> bool:
        return path == self.path or path.startswith(self.path.rstrip("/") + "/")


class MountedApps:
    """The configured apps, found by the longest mounted path that prefixes a URL."""

    def __init__(self, apps: Sequence[MountedApp]) -> None:
        self._apps = sorted(apps, key=lambda app: -len(app.path))

    def find(self, path: str) -> MountedApp | None:
        for app in self._apps:
            if app.holds(path):
                return app
        return None

    def describe(self) -> str:
        return ", ".join(
            f"{app.path} ({app.protocol} protocol; SDK base_url ending in "
            f"{app.frontdoor.sdk_base_url.format(path=app.path.rstrip('/'))})"
            for app in sorted(self._apps, key=lambda app: app.path)
        )


def label_request(apps: MountedApps) -> Callable[[Request[Any, Any, Any]], None]:
    """A ``before_request`` hook naming the app of a request its own handler does not label
    (the model listings) in the request's record, hence in its access-log line."""

    def label(request: Request[Any, Any, Any]) -> None:
        app = apps.find(request.scope["path"])
        if app is not None:
            record_in(request.scope, app.name, app.protocol)

    return label


def not_routed_handler(apps: MountedApps) -> Callable[[Request[Any, Any, Any], Exception], Response[bytes]]:
    """The handler of 404 and 405 for requests that reached no route handler."""
    served: dict[str, str] = {}  # app path -> what it serves, worked out on first use

    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
        assert isinstance(exc, HTTPException)
        method, path = request.method, request.scope["path"]
        app = apps.find(path)
        if app is None:
            return _outside_apps(exc, method, path, apps)
        record_in(request.scope, app.name, app.protocol)
        if app.path not in served:
            served[app.path] = _served(request.app.routes, app)
        error = from_http_exception(exc, method=method, path=path, served=served[app.path])
        response = app.frontdoor.error_response(error)
        if exc.headers and "allow" in exc.headers:
            response.headers["allow"] = exc.headers["allow"]
        return response

    return handle


def _served(routes: Sequence[Any], app: MountedApp) -> str:
    """``POST /openai/v1/chat/completions, GET /openai/v1/models, ...``: the frontdoor's raw
    ASGI routes are its POST endpoints; the others say their methods."""
    endpoints = []
    for route in routes:
        if not app.holds(route.path):
            continue
        methods = ["POST"] if isinstance(route, ASGIRoute) else sorted(set(route.methods) - _IGNORED_METHODS)
        shown = _PARAM.sub(r"{\1}", route.path)
        endpoints += [f"{method} {shown}" for method in methods]
    return ", ".join(endpoints)


def _outside_apps(exc: HTTPException, method: str, path: str, apps: MountedApps) -> Response[bytes]:
    shown = path if len(path) <= 200 else path[:200] + "..."
    if exc.status_code == 405:
        kind, message = "invalid_request_error", f"Method not allowed: {method} {shown}."
    else:
        kind, message = "not_found_error", f"The gateway does not serve {method} {shown}."
    where = apps.describe()
    if where:
        message += f" Its apps are mounted at {where}."
    body = _encode({"type": "error", "error": {"type": kind, "message": message}})
    headers = {"allow": exc.headers["allow"]} if exc.headers and "allow" in exc.headers else None
    return Response(body, status_code=exc.status_code, media_type="application/json", headers=headers)
