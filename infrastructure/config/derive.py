"""Turn the validated config into the values the domain and adapters take."""

from __future__ import annotations

from typing import Any

from adapters.outbound import ProviderSettings
from adapters.outbound.http import PoolLimits, Timeouts
from domain.routing import Rewrite, RoutingTable, Rule
from infrastructure.config.schema import DEFAULT_BASE_URLS, AppConfig, GatewayConfig, ProviderConfig


def routing_table(config: GatewayConfig, app: AppConfig) -> RoutingTable:
    exact: dict[str, Rewrite] = {}
    prefixes: list[tuple[str, Rewrite]] = []
    for rw in app.model_routing.rewrites:
        rewrite = Rewrite(provider=rw.provider, model=rw.model, rewrite_response_model=rw.rewrite_response_model)
        if rw.model_exact is not None:
            exact.setdefault(rw.model_exact, rewrite)  # first one wins, as in config order
        elif rw.model_prefix is not None:
            prefixes.append((rw.model_prefix, rewrite))
    return RoutingTable.build(
        exact=exact,
        prefixes=prefixes,
        prefix_providers=app.model_routing.prefix_providers,
        rules=[Rule(model_prefix=r.model_prefix, provider=r.provider) for r in config.routing.rules],
        default_provider=config.routing.default_provider,
    )


def model_listing(app: AppConfig) -> tuple[dict[str, Any], ...]:
    """The app's /v1/models entries: its seeds, then every exact rewrite's name as clients see
    it (the alias when ``rewrite_response_model``, else the upstream model), without repeats."""
    entries: list[dict[str, Any]] = [dict(m) for m in app.models]
    seen = {m["id"] for m in entries}
    for rw in app.model_routing.rewrites:
        if rw.model_exact is None:
            continue
        shown = rw.model_exact if rw.rewrite_response_model or rw.model is None else rw.model
        if shown not in seen:
            seen.add(shown)
            entries.append({"id": shown})
    return tuple(entries)


def provider_settings(provider: ProviderConfig, missing_key_var: str | None) -> ProviderSettings:
    base_url = (provider.base_url or DEFAULT_BASE_URLS[provider.type]).rstrip("/")
    return ProviderSettings(
        name=provider.name,
        base_url=base_url,
        api_key=provider.api_key or None,
        missing_key_var=missing_key_var,
        headers=dict(provider.headers),
        default_max_tokens=provider.default_max_tokens,
        anthropic_version=provider.anthropic_version,
        max_tokens_field=provider.max_tokens_field,
    )


def http_timeouts(provider: ProviderConfig) -> Timeouts:
    t = provider.timeouts
    return Timeouts(connect=t.connect, read=t.read, total=t.total)


def pool_limits(provider: ProviderConfig) -> PoolLimits:
    return PoolLimits(max_connections=provider.max_connections)
