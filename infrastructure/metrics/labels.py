"""Bounded label values: the names a config allows, so that no client can grow the metric set.

A model label takes a model name the config mentions (the ``model_exact`` and upstream model of
every rewrite, the models of rule, pool and default targets and of fallbacks, and the ids of the
seeded ``/v1/models`` listings); any other name is ``other``. A key label takes a configured
key's name. Providers and apps are config names already; a value absent is ``none``.
"""

from __future__ import annotations

from collections.abc import Iterator

from infrastructure.config.schema import GatewayConfig, RouteTargetConfig

OTHER = "other"  # a name the config does not mention
NONE = "none"  # no value: no provider was tried, no key was sent


def _destination_models(route: RouteTargetConfig) -> Iterator[str | None]:
    yield route.model
    for target in route.targets:
        yield target.model
    for fallback in route.fallbacks:
        yield fallback.model


def model_names(config: GatewayConfig) -> frozenset[str]:
    """Every model name ``config`` mentions."""
    names: list[str | None] = []
    for app in config.apps:
        for rewrite in app.model_routing.rewrites:
            names.append(rewrite.model_exact)
            names.extend(_destination_models(rewrite))
        names.extend(str(entry.get("id")) for entry in app.models if entry.get("id") is not None)
    for rule in config.routing.rules:
        names.extend(_destination_models(rule))
    default = config.routing.default_provider
    if isinstance(default, RouteTargetConfig):
        names.extend(_destination_models(default))
    return frozenset(name for name in names if name)


def key_names(config: GatewayConfig) -> frozenset[str]:
    """The configured gateway keys' names (never the keys)."""
    return frozenset(key.name for key in config.auth.keys)
