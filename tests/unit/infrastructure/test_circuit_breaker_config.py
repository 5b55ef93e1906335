"""``circuit_breaker`` in a provider's config: defaults, validation with key paths, and the former
``failures`` key, refused with what to write instead."""

from __future__ import annotations

import pytest

from domain.circuits import BreakerSettings
from infrastructure.config.build import breaker_settings
from infrastructure.config.loader import ConfigError, parse_config


def provider_with(breaker: str) -> str:
    return f"providers:\n  - {{name: p, type: openai, api_key: k, circuit_breaker: {breaker}}}\n"


def problems(breaker: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(provider_with(breaker), source="t", env={})
    return info.value.problems


def settings(breaker: str) -> BreakerSettings:
    return breaker_settings(parse_config(provider_with(breaker), source="t", env={}).config.providers[0])


def test_the_defaults_are_rate_based_and_divert_only() -> None:
    assert settings("{}") == BreakerSettings(
        enabled=True, window=30, min_requests=10, failure_ratio=0.5, consecutive_failures=5,
        cooldown=30, max_cooldown=300, fail_fast=False,
    )


def test_every_key_reaches_the_breaker() -> None:
    text = ("{enabled: false, window: 10, min_requests: 4, failure_ratio: 0.25, consecutive_failures: 0, "
            "cooldown: 5, max_cooldown: 60, fail_fast: true}")
    assert settings(text) == BreakerSettings(
        enabled=False, window=10, min_requests=4, failure_ratio=0.25, consecutive_failures=0,
        cooldown=5, max_cooldown=60, fail_fast=True,
    )


@pytest.mark.parametrize("value", [0, 5])
def test_the_former_failures_key_says_what_to_write_instead(value: int) -> None:
    (problem,) = problems(f"{{failures: {value}, cooldown: 30}}")
    assert problem.startswith("providers[0].circuit_breaker.failures: no longer used")
    assert "'enabled: false'" in problem and "'consecutive_failures: N'" in problem


@pytest.mark.parametrize(
    ("breaker", "expected"),
    [
        ("{failure_ratio: 0}", "providers[0].circuit_breaker.failure_ratio: must be above 0 and at most 1"),
        ("{failure_ratio: 1.5}", "providers[0].circuit_breaker.failure_ratio: must be above 0 and at most 1"),
        ("{cooldown: 60, max_cooldown: 30}", "providers[0].circuit_breaker.max_cooldown: must be at least cooldown (60)"),
        ("{window: 0}", "providers[0].circuit_breaker: window and cooldown must be positive"),
        ("{min_requests: 0}",
         "providers[0].circuit_breaker: min_requests must be at least 1 and consecutive_failures not negative"),
    ],
)
def test_bad_values_are_refused_with_their_key_path(breaker: str, expected: str) -> None:
    assert problems(breaker) == [expected]


def test_an_unknown_key_is_refused() -> None:
    (problem,) = problems("{threshold: 3}")
    assert problem.startswith("providers[0].circuit_breaker") and "threshold" in problem


def test_a_typo_is_never_steered_to_the_retired_key() -> None:
    (problem,) = problems("{failure: 3}")
    assert problem.startswith("providers[0].circuit_breaker.failure: unknown key")
    assert "'failures'" not in problem
