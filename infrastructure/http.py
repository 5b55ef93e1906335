"""One pooled upstream HTTP client per provider, closed with the app.

Clients open no socket until their first request (the aiohttp session is created inside the
running loop on first use), so they are built with the app and closed in its lifespan.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from adapters.outbound.http import ClientKind, HttpClient, create_http_client
from infrastructure.config.derive import http_timeouts, pool_limits
from infrastructure.config.schema import GatewayConfig


class HttpPool:
    def __init__(self, clients: Mapping[str, HttpClient]) -> None:
        self.clients = dict(clients)

    @classmethod
    def from_config(cls, config: GatewayConfig, kind: ClientKind | None = None) -> HttpPool:
        kind = kind or config.server.http_client
        return cls(
            {
                p.name: create_http_client(kind, name=p.name, timeouts=http_timeouts(p), limits=pool_limits(p))
                for p in config.providers
            }
        )

    async def aclose(self) -> None:
        await asyncio.gather(*(c.aclose() for c in self.clients.values()), return_exceptions=True)
