"""The domain and adapter values a validated config describes: routing tables, provider settings,
HTTP bounds, retry and circuit-breaker policies, the price table."""

from __future__ import annotations

from typing import Any

from adapters.outbound import PROVIDER_KINDS
from adapters.outbound.http import PoolLimits, Timeouts
from adapters.outbound.http.body import ResponseLimits
from adapters.outbound.kind import ProviderSettings
from adapters.outbound.scrub import header_secrets
from adapters.pricing.bundled import bundled_provider_id
from adapters.pricing.table import PriceEntry, Prices
from domain.circuits import BreakerSettings
from domain.pricing import Price
from domain.resilience import ProviderPolicy, RetryPolicy
from domain.routing import Destination, Rewrite, RoutingTable, Rule, Target
from infrastructure.config.schema import (
    AppConfig,
    GatewayConfig,
    PriceConfig,
    ProviderConfig,
    RouteTargetConfig,
)


def destination(route: RouteTargetConfig) -> Destination:
    if route.targets:
        targets = tuple(
            Target(provider=t.provider, model=t.model or route.model, weight=t.weight) for t in route.targets
        )
    else:
        assert route.provider is not None  # validated
        targets = (Target(provider=route.provider, model=route.model),)
    fallbacks = tuple(Target(provider=f.provider, model=f.model) for f in route.fallbacks)
    return Destination(targets=targets, fallbacks=fallbacks, strategy=route.strategy)


def routing_table(config: GatewayConfig, app: AppConfig) -> RoutingTable:
    exact: dict[str, Rewrite] = {}
    prefixes: list[tuple[str, Rewrite]] = []
    for rw in app.model_routing.rewrites:
        rewrite = Rewrite(destination=destination(rw), rewrite_response_model=rw.rewrite_response_model)
        if rw.model_exact is not None:
            exact.setdefault(rw.model_exact, rewrite)  # first one wins, as in config order
        elif rw.model_prefix is not None:
            prefixes.append((rw.model_prefix, rewrite))
    return RoutingTable.build(
        exact=exact,
        prefixes=prefixes,
        prefix_providers=app.model_routing.prefix_providers,
        rules=[Rule(model_prefix=r.model_prefix, destination=destination(r)) for r in config.routing.rules],
        default=_default(config),
    )


def _default(config: GatewayConfig) -> Destination | None:
    default = config.routing.default_provider
    if default is None:
        return None
    if isinstance(default, str):
        return Destination.single(default)
    return destination(default)


def model_listing(app: AppConfig) -> tuple[dict[str, Any], ...]:
    """The app's /v1/models entries: its seeds, then every exact rewrite's name as clients see
    it (the alias when ``rewrite_response_model``, else the upstream model), without repeats."""
    entries: list[dict[str, Any]] = [dict(m) for m in app.models]
    seen = {m["id"] for m in entries}
    for rw in app.model_routing.rewrites:
        if rw.model_exact is None:
            continue
        upstream = rw.model or (rw.targets[0].model if rw.targets else None)
        shown = rw.model_exact if rw.rewrite_response_model or upstream is None else upstream
        if shown not in seen:
            seen.add(shown)
            entries.append({"id": shown})
    return tuple(entries)


def provider_settings(provider: ProviderConfig, missing_key_var: str | None) -> ProviderSettings:
    """The settings of the provider's kind: the common ones, and the kind's own keys as set."""
    kind = PROVIDER_KINDS[provider.type]
    settings: ProviderSettings = kind.settings(
        name=provider.name,
        base_url=(provider.base_url or kind.default_base_url).rstrip("/"),
        api_key=provider.api_key or None,
        missing_key_var=missing_key_var,
        headers=dict(provider.headers),
        default_max_tokens=provider.default_max_tokens,
        **{key.name: getattr(provider, key.name) for key in kind.own_keys()},
    )
    return settings


def secrets(config: GatewayConfig) -> list[str]:
    """Every provider's key and credential-carrying header values: what the scrubber masks."""
    found: list[str] = []
    for provider in config.providers:
        if provider.api_key:
            found.append(provider.api_key)
        found.extend(header_secrets(provider.headers))
    found.extend(key.key for key in config.auth.keys if key.key)  # gateway keys: never logged either
    found.extend(key for key in config.auth.admin_keys if key)
    return found


def http_timeouts(provider: ProviderConfig) -> Timeouts:
    """The socket-level bounds; the service enforces first_byte and idle precisely."""
    t = provider.timeouts
    return Timeouts(connect=t.connect, read=max(t.first_byte, t.idle), total=t.total, stream_max=t.stream_max)


def response_limits(config: GatewayConfig) -> ResponseLimits:
    server = config.server
    return ResponseLimits(
        max_response_bytes=server.max_response_bytes, max_sse_line_bytes=server.max_sse_line_bytes
    )


def provider_policy(provider: ProviderConfig) -> ProviderPolicy:
    r = provider.retries
    return ProviderPolicy(
        retry=RetryPolicy(
            attempts=r.attempts, backoff_base=r.backoff_base, backoff_cap=r.backoff_cap,
            retry_after_cap=r.retry_after_cap,
        ),
        first_byte=provider.timeouts.first_byte,
        idle=provider.timeouts.idle,
        total=provider.timeouts.total,
    )


def breaker_settings(provider: ProviderConfig) -> BreakerSettings:
    cb = provider.circuit_breaker
    return BreakerSettings(
        enabled=cb.enabled, window=cb.window, min_requests=cb.min_requests, failure_ratio=cb.failure_ratio,
        consecutive_failures=cb.consecutive_failures, cooldown=cb.cooldown, max_cooldown=cb.max_cooldown,
        fail_fast=cb.fail_fast,
    )


def pool_limits(provider: ProviderConfig) -> PoolLimits:
    return PoolLimits(max_connections=provider.max_connections)


def price_entry(entry: PriceConfig) -> PriceEntry:
    price = Price(
        input=entry.input_per_mtok,
        output=entry.output_per_mtok,
        cache_read=entry.cache_read_per_mtok,
        cache_write=entry.cache_write_per_mtok,
    )
    return PriceEntry(model=entry.model, price=price, provider=entry.provider)


def price_table(config: GatewayConfig) -> Prices:
    """The config's ``pricing`` entries over the bundled table, each provider mapped to the
    bundled table's provider by its kind and base URL."""
    bundled_ids = {
        p.name: bundled_provider_id(p.type, p.base_url or PROVIDER_KINDS[p.type].default_base_url)
        for p in config.providers
    }
    return Prices([price_entry(e) for e in config.pricing], bundled_ids)
