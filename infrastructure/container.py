"""The composition root: the only module that knows every part.

Built once per app from a loaded config; tests override providers (e.g. ``http_pool`` or
``chat_providers``) with fakes before the app is created.
"""

from __future__ import annotations

import structlog
from dependency_injector import containers, providers

from adapters.inbound import Mount
from adapters.outbound import PROVIDER_KINDS
from domain.ports import ChatProvider
from domain.service import ChatService
from infrastructure.config.derive import model_listing, provider_settings, routing_table
from infrastructure.config.loader import LoadedConfig
from infrastructure.http import HttpPool

log = structlog.get_logger(__name__)


def build_providers(loaded: LoadedConfig, pool: HttpPool) -> dict[str, ChatProvider]:
    built: dict[str, ChatProvider] = {}
    for p in loaded.config.providers:
        missing = loaded.missing_keys.get(p.name)
        if missing:
            log.warning(
                "provider.key_missing",
                provider=p.name,
                variable=missing,
                detail=f"requests routed to '{p.name}' will fail until {missing} is set",
            )
        built[p.name] = PROVIDER_KINDS[p.type](provider_settings(p, missing), pool.clients[p.name])
    return built


def build_mounts(loaded: LoadedConfig, chat_providers: dict[str, ChatProvider]) -> list[Mount]:
    config = loaded.config
    return [
        Mount(
            name=app.name,
            path=app.path,
            service=ChatService(routing_table(config, app), chat_providers),
            models=model_listing(app),
        )
        for app in config.apps
    ]


class Container(containers.DeclarativeContainer):
    loaded = providers.Dependency(instance_of=LoadedConfig)
    http_pool = providers.Singleton(lambda loaded: HttpPool.from_config(loaded.config), loaded)
    chat_providers = providers.Singleton(build_providers, loaded, http_pool)
    mounts = providers.Singleton(build_mounts, loaded, chat_providers)
