"""Model routing: pure functions from the model a client names to where it goes.

For a model name, the first match wins:

1. the app's exact rewrite (``model_exact``);
2. the app's longest-prefix rewrite (``model_prefix``);
3. ``provider/model`` where ``provider`` is a key of the app's ``prefix_providers``
   (the prefix is stripped upstream);
4. the global ``routing.rules``, in order (``model_prefix`` -> provider, model unchanged);
5. ``routing.default_provider`` (model unchanged).

A rewrite with ``rewrite_response_model`` makes responses, stream chunks and model listings
report the name the client asked for (the alias) instead of the upstream model.
"""

from __future__ import annotations

from domain.errors import ErrorKind, GatewayError
from domain.ir.base import IRStruct


class Target(IRStruct):
    provider: str
    model: str


class Route(IRStruct):
    targets: tuple[Target, ...]
    alias: str | None = None  # the model name to report to the client, if rewritten
    rule: str = ""  # which rule matched, for logs

    @property
    def primary(self) -> Target:
        return self.targets[0]


class Rewrite(IRStruct):
    provider: str
    model: str | None = None  # None: keep the requested model
    rewrite_response_model: bool = False


class Rule(IRStruct):
    model_prefix: str
    provider: str


class RoutingTable(IRStruct):
    """Everything one app routes by, prepared once at start-up."""

    exact: dict[str, Rewrite] = {}
    prefixes: tuple[tuple[str, Rewrite], ...] = ()  # longest prefix first
    prefix_providers: dict[str, str] = {}
    rules: tuple[Rule, ...] = ()
    default_provider: str | None = None

    @classmethod
    def build(
        cls,
        *,
        exact: dict[str, Rewrite],
        prefixes: list[tuple[str, Rewrite]],
        prefix_providers: dict[str, str],
        rules: list[Rule],
        default_provider: str | None,
    ) -> RoutingTable:
        # A stable sort keeps config order among prefixes of equal length.
        ordered = tuple(sorted(prefixes, key=lambda item: -len(item[0])))
        return cls(
            exact=dict(exact),
            prefixes=ordered,
            prefix_providers=dict(prefix_providers),
            rules=tuple(rules),
            default_provider=default_provider,
        )


def _rewritten(model: str, rewrite: Rewrite, rule: str) -> Route:
    upstream = rewrite.model if rewrite.model is not None else model
    alias = model if rewrite.rewrite_response_model else None
    return Route(targets=(Target(provider=rewrite.provider, model=upstream),), alias=alias, rule=rule)


def resolve(table: RoutingTable, model: str) -> Route:
    """Where ``model`` goes; raises ``GatewayError(NOT_FOUND)`` when nothing matches."""
    rewrite = table.exact.get(model)
    if rewrite is not None:
        return _rewritten(model, rewrite, f"rewrite:{model}")
    for prefix, rewrite in table.prefixes:
        if model.startswith(prefix):
            return _rewritten(model, rewrite, f"rewrite_prefix:{prefix}")
    head, sep, rest = model.partition("/")
    if sep and rest:
        provider = table.prefix_providers.get(head)
        if provider is not None:
            return Route(targets=(Target(provider=provider, model=rest),), rule=f"prefix:{head}")
    for rule in table.rules:
        if model.startswith(rule.model_prefix):
            return Route(
                targets=(Target(provider=rule.provider, model=model),),
                rule=f"rule:{rule.model_prefix}",
            )
    if table.default_provider is not None:
        return Route(targets=(Target(provider=table.default_provider, model=model),), rule="default")
    raise GatewayError(
        ErrorKind.NOT_FOUND,
        f"The model '{model}' matches no route and no default provider is configured.",
        param="model",
        code="model_not_found",
    )
