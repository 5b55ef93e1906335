"""One test per routing rule, in precedence order, plus the edges between them."""

from __future__ import annotations

import pytest

from domain.errors import ErrorKind, GatewayError
from domain.routing import Rewrite, RoutingTable, Rule, Target, resolve


def table(**overrides: object) -> RoutingTable:
    base: dict[str, object] = {
        "exact": {
            "claude-haiku-4.5": Rewrite(provider="openai", model="gpt-5-mini", rewrite_response_model=True),
            "fast": Rewrite(provider="groq", model="llama-3.1-8b"),
        },
        "prefixes": [
            ("claude-sonnet-", Rewrite(provider="openai", model="gpt-5-mini", rewrite_response_model=True)),
            ("claude-sonnet-4-5", Rewrite(provider="anthropic", model="claude-sonnet-4-5-20250929")),
            ("keep-", Rewrite(provider="vllm")),
        ],
        "prefix_providers": {"openai": "openai", "anthropic": "anthropic", "local": "vllm"},
        "rules": [Rule(model_prefix="claude", provider="anthropic"), Rule(model_prefix="gpt", provider="openai")],
        "default_provider": "openai",
    }
    base.update(overrides)
    return RoutingTable.build(**base)  # type: ignore[arg-type]


def test_exact_rewrite_wins_and_reports_alias() -> None:
    route = resolve(table(), "claude-haiku-4.5")
    assert route.targets == (Target(provider="openai", model="gpt-5-mini"),)
    assert route.alias == "claude-haiku-4.5"


def test_exact_rewrite_without_response_rewrite_has_no_alias() -> None:
    route = resolve(table(), "fast")
    assert route.primary == Target(provider="groq", model="llama-3.1-8b")
    assert route.alias is None


def test_longest_prefix_rewrite_wins_over_shorter_prefix() -> None:
    route = resolve(table(), "claude-sonnet-4-5")
    assert route.primary == Target(provider="anthropic", model="claude-sonnet-4-5-20250929")
    assert route.alias is None


def test_prefix_rewrite_maps_every_matching_model() -> None:
    route = resolve(table(), "claude-sonnet-4")
    assert route.primary == Target(provider="openai", model="gpt-5-mini")
    assert route.alias == "claude-sonnet-4"


def test_prefix_rewrite_without_model_keeps_requested_model() -> None:
    assert resolve(table(), "keep-this").primary == Target(provider="vllm", model="keep-this")


def test_exact_rewrite_beats_prefix_rewrite() -> None:
    t = table(exact={"claude-sonnet-x": Rewrite(provider="groq", model="m")})
    assert resolve(t, "claude-sonnet-x").primary.provider == "groq"


def test_provider_prefix_strips_the_prefix_upstream() -> None:
    route = resolve(table(), "openai/gpt-4o")
    assert route.primary == Target(provider="openai", model="gpt-4o")
    assert route.alias is None


def test_provider_prefix_maps_key_to_provider_name() -> None:
    assert resolve(table(), "local/meta-llama/Llama-3.1-8B").primary == Target(
        provider="vllm", model="meta-llama/Llama-3.1-8B"
    )


def test_unknown_prefix_falls_through_to_rules_and_default_with_full_name() -> None:
    assert resolve(table(), "meta-llama/Llama-3").primary == Target(provider="openai", model="meta-llama/Llama-3")


def test_rewrite_beats_provider_prefix() -> None:
    t = table(exact={"openai/gpt-4o": Rewrite(provider="groq", model="x")})
    assert resolve(t, "openai/gpt-4o").primary.provider == "groq"


def test_global_rules_in_order() -> None:
    assert resolve(table(), "claude-3-opus").primary == Target(provider="anthropic", model="claude-3-opus")
    assert resolve(table(), "gpt-4o-mini").primary == Target(provider="openai", model="gpt-4o-mini")
    t = table(rules=[Rule(model_prefix="g", provider="groq"), Rule(model_prefix="gpt", provider="openai")])
    assert resolve(t, "gpt-4o").primary.provider == "groq"


def test_default_provider_takes_the_rest() -> None:
    route = resolve(table(), "mistral-large")
    assert route.primary == Target(provider="openai", model="mistral-large")
    assert route.rule == "default"


def test_no_match_and_no_default_is_not_found() -> None:
    with pytest.raises(GatewayError) as info:
        resolve(table(default_provider=None, rules=[]), "mistral-large")
    assert info.value.kind is ErrorKind.NOT_FOUND
    assert info.value.client_status == 404
    assert "mistral-large" in info.value.message


def test_empty_provider_prefix_model_is_not_a_prefix_route() -> None:
    assert resolve(table(), "openai/").rule == "default"
