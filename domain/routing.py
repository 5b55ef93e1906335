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

Every matched destination is a pool of ``targets`` (one target when configured with a single
``provider``) plus ordered ``fallbacks``. ``attempt_order`` turns a route into the order the
service tries, setting aside the targets the service reports unavailable (an open circuit): the
pool in the order of its ``strategy``, then the fallbacks. ``weighted`` (the default): one target
drawn by weight, the rest of the pool by weight. ``cheapest`` and ``fastest``: the pool by a rank
the service gives (the price of each target's model; its recent latency, with a small share of
requests sent to another target first so that a recovered one is seen again).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Literal

from domain.errors import ErrorKind, GatewayError
from domain.ir.base import IRStruct


class Target(IRStruct, frozen=True):
    provider: str
    model: str | None = None  # None in config: the requested (or the rewritten) model
    weight: float = 1.0


Strategy = Literal["weighted", "cheapest", "fastest"]


class Destination(IRStruct, frozen=True):
    """Where a matched rule sends a request: a pool ordered by its strategy, then fallbacks in
    order."""

    targets: tuple[Target, ...]
    fallbacks: tuple[Target, ...] = ()
    strategy: Strategy = "weighted"

    @classmethod
    def single(cls, provider: str, model: str | None = None) -> Destination:
        return cls(targets=(Target(provider=provider, model=model),))


class Route(IRStruct, frozen=True):
    """A resolved destination: every target's ``model`` is the upstream model to ask for."""

    targets: tuple[Target, ...]
    fallbacks: tuple[Target, ...] = ()
    alias: str | None = None  # the model name to report to the client, if rewritten
    rule: str = ""  # which rule matched, for logs
    strategy: Strategy = "weighted"


class Rewrite(IRStruct, frozen=True):
    destination: Destination
    rewrite_response_model: bool = False


class Rule(IRStruct, frozen=True):
    model_prefix: str
    destination: Destination


class RoutingTable(IRStruct, frozen=True):
    """Everything one app routes by, prepared once at start-up."""

    exact: dict[str, Rewrite] = {}
    prefixes: tuple[tuple[str, Rewrite], ...] = ()  # longest prefix first
    prefix_providers: dict[str, str] = {}
    rules: tuple[Rule, ...] = ()
    default: Destination | None = None

    @classmethod
    def build(
        cls,
        *,
        exact: dict[str, Rewrite],
        prefixes: list[tuple[str, Rewrite]],
        prefix_providers: dict[str, str],
        rules: list[Rule],
        default: Destination | None,
    ) -> RoutingTable:
        # A stable sort keeps config order among prefixes of equal length.
        ordered = tuple(sorted(prefixes, key=lambda item: -len(item[0])))
        return cls(
            exact=dict(exact),
            prefixes=ordered,
            prefix_providers=dict(prefix_providers),
            rules=tuple(rules),
            default=default,
        )


def _route(destination: Destination, model: str, *, alias: str | None, rule: str) -> Route:
    """Fill in the models: a target without one asks for ``model``; a fallback without one asks
    for what the first target asks for."""
    targets = tuple(
        t if t.model is not None else Target(provider=t.provider, model=model, weight=t.weight)
        for t in destination.targets
    )
    primary_model = targets[0].model
    fallbacks = tuple(
        f if f.model is not None else Target(provider=f.provider, model=primary_model, weight=f.weight)
        for f in destination.fallbacks
    )
    return Route(targets=targets, fallbacks=fallbacks, alias=alias, rule=rule, strategy=destination.strategy)


MAX_MODEL_NAME = 256  # characters


def check_model_name(model: str) -> None:
    """Refuse a model name that is empty, longer than ``MAX_MODEL_NAME`` characters, or holds a
    control or other non-printable character (CR, LF, NUL, bidi overrides, ...): such a name
    could never be a real model, and it must not reach an upstream, a header or a log."""
    if model and len(model) <= MAX_MODEL_NAME and model.isprintable():
        return
    if not model:
        reason = "it is empty"
    elif len(model) > MAX_MODEL_NAME:
        reason = f"it is {len(model)} characters long"
    else:
        reason = "it contains a control or other non-printable character"
    raise GatewayError(
        ErrorKind.INVALID_REQUEST,
        f"Invalid value for 'model': {reason}. A model name is 1 to {MAX_MODEL_NAME} printable characters.",
        param="model",
    )


def resolve(table: RoutingTable, model: str) -> Route:
    """Where ``model`` goes; raises ``GatewayError(INVALID_REQUEST)`` for a name no model can
    have (``check_model_name``) and ``GatewayError(NOT_FOUND)`` when nothing matches."""
    check_model_name(model)
    rewrite = table.exact.get(model)
    if rewrite is None:
        for prefix, candidate in table.prefixes:
            if model.startswith(prefix):
                rewrite, rule = candidate, f"rewrite_prefix:{prefix}"
                break
    else:
        rule = f"rewrite:{model}"
    if rewrite is not None:
        alias = model if rewrite.rewrite_response_model else None
        return _route(rewrite.destination, model, alias=alias, rule=rule)
    head, sep, rest = model.partition("/")
    if sep and rest:
        provider = table.prefix_providers.get(head)
        if provider is not None:
            return Route(targets=(Target(provider=provider, model=rest),), rule=f"prefix:{head}")
    for candidate_rule in table.rules:
        if model.startswith(candidate_rule.model_prefix):
            rule = f"rule:{candidate_rule.model_prefix}"
            return _route(candidate_rule.destination, model, alias=None, rule=rule)
    if table.default is not None:
        return _route(table.default, model, alias=None, rule="default")
    raise GatewayError(
        ErrorKind.NOT_FOUND,
        f"The model '{model}' matches no route and no default provider is configured.",
        param="model",
        code="model_not_found",
    )


def attempt_order(
    route: Route,
    available: Callable[[Target], bool],
    rng: random.Random,
    rank: Callable[[Target], float] | None = None,
    explore: float = 0.0,
) -> tuple[list[Target], list[Target]]:
    """The targets to try in order, and those passed over because they are unavailable now.

    Without ``rank`` (the ``weighted`` strategy): one pool target drawn by weight among the
    available ones, then the rest of the pool by descending weight. With ``rank``: the available
    pool by ascending rank (config order among equals), except that with probability ``explore``
    another pool target, drawn uniformly, goes first. Then the fallbacks in config order. A
    (provider, model) pair appears once in either list.
    """
    pool = [t for t in route.targets if available(t)]
    skipped = [t for t in route.targets if t not in pool]
    ordered: list[Target] = []
    if len(pool) == 1:
        ordered.append(pool[0])
    elif pool and rank is not None:
        ordered += sorted(pool, key=rank)
        if explore and rng.random() < explore:
            ordered.insert(0, ordered.pop(rng.randrange(1, len(ordered))))
    elif pool:
        first = rng.choices(pool, weights=[t.weight for t in pool])[0]
        ordered.append(first)
        ordered += sorted((t for t in pool if t is not first), key=lambda t: -t.weight)
    for fallback in route.fallbacks:
        (ordered if available(fallback) else skipped).append(fallback)
    seen: set[tuple[str, str | None]] = set()
    return _once(ordered, seen), _once(skipped, seen)


def _once(targets: list[Target], seen: set[tuple[str, str | None]]) -> list[Target]:
    unique = []
    for target in targets:
        key = (target.provider, target.model)
        if key not in seen:
            seen.add(key)
            unique.append(target)
    return unique
