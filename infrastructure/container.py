"""The composition root: the only module that knows every part.

Built once per app from a loaded config; tests override providers (e.g. ``http_pool`` or
``chat_providers``) with fakes before the app is created.
"""

from __future__ import annotations

import structlog
from dependency_injector import containers, providers

from adapters.inbound.frontdoor import Mount
from adapters.outbound import PROVIDER_KINDS
from adapters.outbound.scrub import Scrubber
from adapters.pricing.table import Prices
from adapters.state.conversations_memory import MemoryConversations
from adapters.state.conversations_redis import RedisConversations
from domain.circuits import Breakers, CircuitSnapshot
from domain.latency import Latencies
from domain.policy import Policy
from domain.ports import ChatProvider, ConversationStore, ResilienceObserver
from domain.resilience import ProviderPolicy
from domain.service import ChatService
from infrastructure.config.build import (
    breaker_settings,
    model_listing,
    price_table,
    provider_policy,
    provider_settings,
    routing_table,
    secrets,
)
from infrastructure.config.loader import LoadedConfig
from infrastructure.http import HttpPool
from infrastructure.metrics import GatewayMetrics, default_metrics
from infrastructure.observability import LoggingObserver
from infrastructure.policy import PolicyStore, build_policy
from infrastructure.tracing import Tracing, active_tracing

log = structlog.get_logger(__name__)


def build_providers(loaded: LoadedConfig, pool: HttpPool, scrubber: Scrubber) -> dict[str, ChatProvider]:
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
        kind = PROVIDER_KINDS[p.type]
        built[p.name] = kind.create(provider_settings(p, missing), pool.clients[p.name], scrubber)
    return built


def build_breakers(
    loaded: LoadedConfig, observer: ResilienceObserver, metrics: GatewayMetrics | None = None
) -> Breakers:
    settings = {p.name: breaker_settings(p) for p in loaded.config.providers}
    if metrics is None or metrics.shared_circuits is None:
        return Breakers(settings, on_change=observer.circuit_changed)

    def changed(circuit: CircuitSnapshot) -> None:
        observer.circuit_changed(circuit)
        metrics.circuit_changed(circuit)

    return Breakers(settings, on_change=changed)


def build_policies(loaded: LoadedConfig) -> dict[str, ProviderPolicy]:
    return {p.name: provider_policy(p) for p in loaded.config.providers}


_PROCESS_CONVERSATIONS: list[MemoryConversations] = []  # one per process: it outlives reloads


def build_conversations(loaded: LoadedConfig) -> ConversationStore:
    """Redis when ``state.redis_url`` is set, else this process's store, which a reload keeps
    (resized to the new budget)."""
    state = loaded.config.state
    if state.redis_url:
        return RedisConversations(state.redis_url, state.key_prefix + "conversation:")
    if not _PROCESS_CONVERSATIONS:
        _PROCESS_CONVERSATIONS.append(MemoryConversations(state.conversation_max_bytes))
        if loaded.config.server.workers > 1:
            log.warning(
                "conversation.store_per_worker",
                detail="stored Responses turns live in each worker; a follow-up (previous_response_id) "
                "reaching another worker gets 404 unless state.redis_url is set",
            )
    store = _PROCESS_CONVERSATIONS[0]
    store.resize(state.conversation_max_bytes)
    return store


def build_mounts(
    loaded: LoadedConfig,
    chat_providers: dict[str, ChatProvider],
    breakers: Breakers,
    policies: dict[str, ProviderPolicy],
    observer: ResilienceObserver,
    conversations: ConversationStore,
    prices: Prices | None = None,
    latencies: Latencies | None = None,
    policy: Policy | None = None,
    metrics: GatewayMetrics | None = None,
    tracing: Tracing | None = None,
) -> list[Mount]:
    latencies = latencies or Latencies()  # one per generation, shared by its apps like the breakers
    config = loaded.config
    return [
        Mount(
            name=app.name,
            path=app.path,
            service=ChatService(
                routing_table(config, app),
                chat_providers,
                breakers=breakers,
                policies=policies,
                observer=observer,
                prices=prices,
                latencies=latencies,
                tracer=tracing,
            ),
            models=model_listing(app),
            max_body_bytes=config.server.max_body_bytes,
            conversations=conversations,
            conversation_ttl=config.state.conversation_ttl_seconds,
            policy=policy,
            in_flight=metrics.in_flight if metrics is not None else None,
        )
        for app in config.apps
    ]


class Container(containers.DeclarativeContainer):
    loaded = providers.Dependency(instance_of=LoadedConfig)
    metrics = providers.Callable(default_metrics)  # the process's (tests may give their own)
    tracing = providers.Callable(active_tracing)  # None: tracing is off
    http_pool = providers.Singleton(
        lambda loaded, tracing: HttpPool.from_config(loaded.config).traced(tracing), loaded, tracing
    )
    scrubber = providers.Singleton(lambda loaded: Scrubber(secrets(loaded.config)), loaded)
    chat_providers = providers.Singleton(build_providers, loaded, http_pool, scrubber)
    observer = providers.Singleton(LoggingObserver)
    breakers = providers.Singleton(build_breakers, loaded, observer, metrics)
    policies = providers.Singleton(build_policies, loaded)
    prices = providers.Singleton(lambda loaded: price_table(loaded.config), loaded)
    latencies = providers.Singleton(Latencies)
    conversations = providers.Singleton(build_conversations, loaded)
    # The policy's state outlives a generation: build_asgi overrides this with the process's own.
    policy_store = providers.Singleton(PolicyStore)
    policy = providers.Singleton(build_policy, loaded, policy_store)
    mounts = providers.Singleton(
        build_mounts, loaded, chat_providers, breakers, policies, observer, conversations, prices, latencies,
        policy, metrics, tracing,
    )
