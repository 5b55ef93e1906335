"""Build the ASGI application from a loaded config."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import structlog
from dependency_injector import providers
from litestar import Litestar, Router
from litestar.exceptions import MethodNotAllowedException, NotFoundException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

from adapters.inbound import FRONTDOORS
from app.admin_access import AdminAccess
from app.admin_usage import usage_handler
from app.errors import MountedApp, MountedApps, label_request, not_routed_handler
from app.gc_tuning import tune_gc
from app.health import healthz, readyz
from app.metrics import metrics_handler
from app.middleware import AccessLogMiddleware
from app.reload import ReloadingApp
from app.status import Generation, StatusSources, status_handler
from app.traffic import RecentTraffic
from infrastructure.config.loader import LoadedConfig, load_config
from infrastructure.container import Container
from infrastructure.logging import configure_logging, flush_logs
from infrastructure.metrics import default_metrics, worker_stopped
from infrastructure.policy import PolicyStore
from infrastructure.tracing import start_tracing

log = structlog.get_logger(__name__)


def create_app(
    loaded: LoadedConfig,
    container: Container | None = None,
    *,
    traffic: RecentTraffic | None = None,
    generation: Callable[[], Generation] | None = None,
    store: PolicyStore | None = None,
) -> Litestar:
    """The Litestar app: every configured frontdoor mounted at its path, health probes, the
    status page (over ``traffic``, the access-log layer's recent traffic, which outlives a
    generation), /admin/usage, protocol-shaped 404/405, upstream clients closed on shutdown.

    ``store`` is the process's policy state, shared by every generation (a reload keeps counted
    spend and slots in flight); without it the app has a store of its own, closed with it."""
    container = container or Container(loaded=loaded)
    own_store = store is None
    if store is not None:
        container.policy_store.override(providers.Object(store))
    policy_store = container.policy_store()
    config = loaded.config
    if generation is None:
        built = Generation(0, time.time(), str(loaded.source))
        generation = lambda: built  # noqa: E731
    status = StatusSources(
        breakers=container.breakers(), config=config, access=AdminAccess(config.auth.admin_keys),
        traffic=traffic, generation=generation,
    )  # fmt: skip
    protocols = {app.name: app.frontdoor for app in config.apps}
    frontdoors = {app.name: FRONTDOORS[app.frontdoor] for app in config.apps}
    mounts = container.mounts()
    apps = MountedApps([MountedApp(m.path, m.name, protocols[m.name], frontdoors[m.name]) for m in mounts])
    # Each frontdoor's router inside one that names its app in the access log for the routes
    # that do not do it themselves (the listings: the chat routes are raw ASGI, without hooks).
    routers = [Router("/", route_handlers=[frontdoors[m.name].router(m)], before_request=label_request(apps))
               for m in mounts]
    not_routed = not_routed_handler(apps)
    metrics = container.metrics()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if metrics is not None:  # this generation's names bound the labels, its circuits are scraped
            metrics.configure(config, container.breakers())
        app.state.ready = True
        if traffic is not None:  # the names this generation's traffic is counted under
            apps, providers = [a.name for a in config.apps], [p.name for p in config.providers]
            traffic.configure(apps, providers, [k.name for k in config.auth.keys])
        log.info("app.started", apps=[f"{a.name}:{a.frontdoor}@{a.path}" for a in config.apps],
                 providers=[p.name for p in config.providers], http_client=config.server.http_client)
        try:
            yield
        finally:
            app.state.ready = False
            await container.http_pool().aclose()
            await container.conversations().aclose()
            await (policy_store.aclose() if own_store else policy_store.flush())
            log.info("app.stopped")
            flush_logs()

    operator = [status_handler(status)]
    if metrics is not None:
        operator.append(metrics_handler(metrics, AdminAccess(config.auth.admin_keys)))
    return Litestar(
        route_handlers=[
            healthz, readyz, *operator,
            usage_handler(container.policy(), AdminAccess(config.auth.admin_keys)), *routers,
        ],  # fmt: skip
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
    server = loaded.config.server
    metrics = default_metrics() if container is None else container.metrics()
    traffic = RecentTraffic()
    if container is not None:  # tests that override container providers: no reloading
        app: Any = create_app(loaded, container, traffic=traffic)
    else:
        store = PolicyStore()  # the process's: every generation counts in it

        async def stopped() -> None:  # the worker stops serving
            await store.aclose()
            worker_stopped()

        reloading = ReloadingApp(
            loaded,
            lambda config: create_app(config, traffic=traffic, generation=reloading.generation, store=store),
            on_swap=lambda old, new: apply_settings(access, old, new),
            on_stop=stopped,
            on_reload=metrics.config_reloaded,
        )
        app = reloading
    access = AccessLogMiddleware(
        app, enabled=server.access_log, expose_routing_headers=server.expose_routing_headers, traffic=traffic,
        metrics=metrics, tracing=start_tracing(loaded.config.telemetry),
    )  # fmt: skip
    return access


def apply_settings(access: AccessLogMiddleware, old: LoadedConfig, new: LoadedConfig) -> None:
    """The ``server`` settings a reload applies outside the new generation: the access-log
    layer's, and the log level and format (only when they changed: tests keep their logging)."""
    before, after = old.config.server, new.config.server
    access.enabled = after.access_log
    access.expose_routing_headers = after.expose_routing_headers
    if (before.log_level, before.log_format) != (after.log_level, after.log_format):
        configure_logging(after.log_level, after.log_format)


def from_env() -> Any:
    """uvicorn factory (``app.asgi:from_env``): the config file ``GATEWAY_CONFIG`` names, with the
    ``.env`` file ``GATEWAY_ENV_FILE`` names (both set by ``python -m app``)."""
    loaded = load_config(os.environ.get("GATEWAY_CONFIG", "config.yaml"))
    configure_logging(loaded.config.server.log_level, loaded.config.server.log_format)
    app = build_asgi(loaded)
    tune_gc()  # a server worker, its start-up done (app/gc_tuning.py)
    return app
