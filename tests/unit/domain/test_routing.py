"""One test per routing rule, in precedence order, plus the edges between them."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from domain.errors import ErrorKind, GatewayError
from domain.routing import Destination, Rewrite, Route, RoutingTable, Rule, Target, attempt_order, resolve


def rw(provider: str, model: str | None = None, *, alias: bool = False) -> Rewrite:
    return Rewrite(destination=Destination.single(provider, model), rewrite_response_model=alias)


def rule(prefix: str, provider: str) -> Rule:
    return Rule(model_prefix=prefix, destination=Destination.single(provider))


def table(**overrides: object) -> RoutingTable:
    base: dict[str, object] = {
        "exact": {
            "claude-haiku-4.5": rw("openai", "gpt-5-mini", alias=True),
            "fast": rw("groq", "llama-3.1-8b"),
        },
        "prefixes": [
            ("claude-sonnet-", rw("openai", "gpt-5-mini", alias=True)),
            ("claude-sonnet-4-5", rw("anthropic", "claude-sonnet-4-5-20250929")),
            ("keep-", rw("vllm")),
        ],
        "prefix_providers": {"openai": "openai", "anthropic": "anthropic", "local": "vllm"},
        "rules": [rule("claude", "anthropic"), rule("gpt", "openai")],
        "default": Destination.single("openai"),
    }
    base.update(overrides)
    return RoutingTable.build(**base)  # type: ignore[arg-type]


def test_exact_rewrite_wins_and_reports_alias() -> None:
    route = resolve(table(), "claude-haiku-4.5")
    assert route.targets == (Target(provider="openai", model="gpt-5-mini"),)
    assert route.alias == "claude-haiku-4.5"


def test_exact_rewrite_without_response_rewrite_has_no_alias() -> None:
    route = resolve(table(), "fast")
    assert route.targets[0] == Target(provider="groq", model="llama-3.1-8b")
    assert route.alias is None


def test_longest_prefix_rewrite_wins_over_shorter_prefix() -> None:
    route = resolve(table(), "claude-sonnet-4-5")
    assert route.targets[0] == Target(provider="anthropic", model="claude-sonnet-4-5-20250929")
    assert route.alias is None


def test_prefix_rewrite_maps_every_matching_model() -> None:
    route = resolve(table(), "claude-sonnet-4")
    assert route.targets[0] == Target(provider="openai", model="gpt-5-mini")
    assert route.alias == "claude-sonnet-4"


def test_prefix_rewrite_without_model_keeps_requested_model() -> None:
    assert resolve(table(), "keep-this").targets[0] == Target(provider="vllm", model="keep-this")


def test_exact_rewrite_beats_prefix_rewrite() -> None:
    t = table(exact={"claude-sonnet-x": rw("groq", "m")})
    assert resolve(t, "claude-sonnet-x").targets[0].provider == "groq"


def test_provider_prefix_strips_the_prefix_upstream() -> None:
    route = resolve(table(), "openai/gpt-4o")
    assert route.targets[0] == Target(provider="openai", model="gpt-4o")
    assert route.alias is None


def test_provider_prefix_maps_key_to_provider_name() -> None:
    assert resolve(table(), "local/meta-llama/Llama-3.1-8B").targets[0] == Target(
        provider="vllm", model="meta-llama/Llama-3.1-8B"
    )


def test_unknown_prefix_falls_through_to_rules_and_default_with_full_name() -> None:
    assert resolve(table(), "meta-llama/Llama-3").targets[0] == Target(provider="openai", model="meta-llama/Llama-3")


def test_rewrite_beats_provider_prefix() -> None:
    t = table(exact={"openai/gpt-4o": rw("groq", "x")})
    assert resolve(t, "openai/gpt-4o").targets[0].provider == "groq"


def test_global_rules_in_order() -> None:
    assert resolve(table(), "claude-3-opus").targets[0] == Target(provider="anthropic", model="claude-3-opus")
    assert resolve(table(), "gpt-4o-mini").targets[0] == Target(provider="openai", model="gpt-4o-mini")
    t = table(rules=[rule("g", "groq"), rule("gpt", "openai")])
    assert resolve(t, "gpt-4o").targets[0].provider == "groq"


def test_default_provider_takes_the_rest() -> None:
    route = resolve(table(), "mistral-large")
    assert route.targets[0] == Target(provider="openai", model="mistral-large")
    assert route.rule == "default"


def test_no_match_and_no_default_is_not_found() -> None:
    with pytest.raises(GatewayError) as info:
        resolve(table(default=None, rules=[]), "mistral-large")
    assert info.value.kind is ErrorKind.NOT_FOUND
    assert info.value.client_status == 404
    assert "mistral-large" in info.value.message


def test_empty_provider_prefix_model_is_not_a_prefix_route() -> None:
    assert resolve(table(), "openai/").rule == "default"


def test_fallbacks_inherit_the_first_targets_model_unless_they_name_one() -> None:
    dest = Destination(
        targets=(Target(provider="openai", model="gpt-5-mini"),),
        fallbacks=(Target(provider="azure"), Target(provider="anthropic", model="claude-haiku-4-5")),
    )
    route = resolve(table(exact={"m": Rewrite(destination=dest)}), "m")
    assert route.fallbacks == (
        Target(provider="azure", model="gpt-5-mini"),
        Target(provider="anthropic", model="claude-haiku-4-5"),
    )


def test_rule_targets_without_model_ask_for_the_requested_model() -> None:
    dest = Destination(targets=(Target(provider="a", weight=3), Target(provider="b", model="x", weight=1)))
    route = resolve(table(rules=[Rule(model_prefix="gpt", destination=dest)]), "gpt-4o")
    assert route.targets == (Target(provider="a", model="gpt-4o", weight=3), Target(provider="b", model="x", weight=1))


def _weighted() -> Route:
    return Route(
        targets=(Target(provider="a", model="m", weight=3), Target(provider="b", model="m", weight=1)),
        fallbacks=(Target(provider="c", model="m"),),
    )


def test_attempt_order_is_draw_then_rest_of_pool_then_fallbacks() -> None:
    order, skipped = attempt_order(_weighted(), lambda t: True, random.Random(1))
    assert {t.provider for t in order[:2]} == {"a", "b"} and order[2].provider == "c"
    assert skipped == []


def test_weighted_split_matches_the_weights() -> None:
    rng = random.Random(42)
    firsts = Counter(attempt_order(_weighted(), lambda t: True, rng)[0][0].provider for _ in range(4000))
    assert abs(firsts["a"] / 4000 - 0.75) < 0.03
    assert abs(firsts["b"] / 4000 - 0.25) < 0.03


def test_unavailable_targets_are_set_aside_and_reported() -> None:
    order, skipped = attempt_order(_weighted(), lambda t: t.provider != "a", random.Random(0))
    assert [t.provider for t in order] == ["b", "c"]
    assert [t.provider for t in skipped] == ["a"]


def test_availability_is_per_deployment_not_per_provider() -> None:
    route = Route(targets=(Target(provider="a", model="big"),), fallbacks=(Target(provider="a", model="small"),))
    order, skipped = attempt_order(route, lambda t: t.model != "big", random.Random(0))
    assert (order, skipped) == ([Target(provider="a", model="small")], [Target(provider="a", model="big")])


def test_a_target_listed_twice_is_tried_once() -> None:
    route = Route(targets=(Target(provider="a", model="m"),), fallbacks=(Target(provider="a", model="m"),))
    assert attempt_order(route, lambda t: True, random.Random(0))[0] == [Target(provider="a", model="m")]


@pytest.mark.parametrize(
    "model",
    ["", "gpt\r\nX-Injected: yes", "gpt\nx", "claude\x00x", "gpt\tx", "gpt\x7f", "gpt\u202eevil", "g" * 257],
)
def test_a_model_name_no_model_can_have_is_refused_before_routing(model: str) -> None:
    with pytest.raises(GatewayError) as caught:
        resolve(table(), model)
    assert caught.value.kind is ErrorKind.INVALID_REQUEST
    assert caught.value.param == "model"
    assert "'model'" in caught.value.message


@pytest.mark.parametrize("model", ["g" * 256, "modèle-ünïcode", "openai/gpt-4o mini"])
def test_printable_model_names_up_to_256_characters_are_routed(model: str) -> None:
    assert resolve(table(), model).targets[0].provider == "openai"
