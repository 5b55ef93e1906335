"""One pooled upstream HTTP client per provider, closed with the app.

Clients open no socket until their first request, so they are built with the app and closed in
its lifespan.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping

import structlog

from adapters.outbound.http import ClientKind, HttpClient, create_http_client
from infrastructure.config.build import http_timeouts, pool_limits, response_limits
from infrastructure.config.schema import GatewayConfig

log = structlog.get_logger(__name__)

PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")


class HttpPool:
    def __init__(self, clients: Mapping[str, HttpClient]) -> None:
        self.clients = dict(clients)

    @classmethod
    def from_config(cls, config: GatewayConfig, kind: ClientKind | None = None) -> HttpPool:
        kind = kind or config.server.http_client
        if kind == "httptools":
            _warn_of_ignored_proxy()
        response = response_limits(config)
        return cls(
            {
                p.name: create_http_client(
                    kind, name=p.name, timeouts=http_timeouts(p), limits=pool_limits(p), response=response
                )
                for p in config.providers
            }
        )

    def traced(self, tracing: object | None) -> HttpPool:
        """This pool, its clients sending the trace context when tracing is on."""
        if tracing is None:
            return self
        from infrastructure.tracing import TracedHttpClient

        return HttpPool({name: TracedHttpClient(client) for name, client in self.clients.items()})

    async def aclose(self) -> None:
        await asyncio.gather(*(c.aclose() for c in self.clients.values()), return_exceptions=True)


def _warn_of_ignored_proxy() -> None:
    """The httptools client connects directly: say so when the environment names a proxy."""
    found = [name for name in PROXY_VARIABLES if os.environ.get(name) or os.environ.get(name.lower())]
    if found:
        log.warning(
            "http.proxy_ignored",
            variables=found,
            detail="server.http_client 'httptools' connects to providers directly; "
            "set server.http_client to 'httpx' to use the proxy",
        )
