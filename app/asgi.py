"""Build the ASGI application from a loaded config."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from litestar import Litestar
from litestar.exceptions import MethodNotAllowedException, NotFoundException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

from adapters.inbound import FRONTDOORS
from app.errors import not_routed_handler
from app.health import healthz, readyz
from app.middleware import AccessLogMiddleware
from app.reload import ReloadingApp
from infrastructure.config.loader import LoadedConfig, load_config
from infrastructure.container import Container
from infrastructure.logging import configure_logging, flush_logs

log = structlog.get_logger(__name__)


def create_app(loaded: LoadedConfig, container: Container | None = None) -> Litestar:
    """The Litestar app: every configured frontdoor mounted at its path, health probes,
    protocol-shaped 404/405, upstream clients closed on shutdown."""
    container = container or Container(loaded=loaded)
    config = loaded.config
    frontdoors = {app.name: FRONTDOORS[app.frontdoor]() for app in config.apps}
    mounts = container.mounts()
    routers = [frontdoors[m.name].build_router(m) for m in mounts]
    not_routed = not_routed_handler([(m.path, frontdoors[m.name]) for m in mounts])

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.ready = True
        log.info("app.started", apps=[f"{a.name}:{a.frontdoor}@{a.path}" for a in config.apps],
                 providers=[p.name for p in config.providers], http_client=config.server.http_client)
        try:
            yield
        finally:
            app.state.ready = False
            await container.http_pool().aclose()
            log.info("app.stopped")
            flush_logs()

    return Litestar(
        route_handlers=[healthz, readyz, *routers],
        lifespan=[lifespan],
        exception_handlers={NotFoundException: not_routed, MethodNotAllowedException: not_routed},
        request_max_body_size=config.server.max_body_bytes,
        # The OpenAPI document only, at /schema and /schema/openapi.json: Litestar's UIs load their
        # scripts from a public CDN.
        openapi_config=OpenAPIConfig(
            title="poly-llm-gateway", version="0.1.0", path="/schema",
            render_plugins=[JsonRenderPlugin(path=["/", "/openapi.json"])],
        ),  # fmt: skip
        logging_config=None,
        debug=False,
    )


def build_asgi(loaded: LoadedConfig, container: Container | None = None) -> Any:
    """What the server runs: the access-log / request-id layer over the reloading app, whose
    generations are Litestar apps built from successive versions of the config file."""
    if container is not None:  # tests that override container providers: no reloading
        return AccessLogMiddleware(create_app(loaded, container), enabled=loaded.config.server.access_log)
    return AccessLogMiddleware(ReloadingApp(loaded, create_app), enabled=loaded.config.server.access_log)


def from_env() -> Any:
    """uvicorn factory (``app.asgi:from_env``): config path from ``GATEWAY_CONFIG``."""
    loaded = load_config(os.environ.get("GATEWAY_CONFIG", "config.yaml"))
    configure_logging(os.environ.get("GATEWAY_LOG_LEVEL", loaded.config.server.log_level))
    return build_asgi(loaded)
