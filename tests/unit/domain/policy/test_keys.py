"""Gateway keys: found by digest, apps and model globs, usage periods."""

from __future__ import annotations

import hashlib

import pytest

from domain.policy.keys import Budget, GatewayKey, KeyTable, digest, parse_digest


def key(name: str = "team-a", secret: str = "sk-team-a", **fields: object) -> GatewayKey:
    return GatewayKey(name=name, digest=digest(secret), **fields)  # type: ignore[arg-type]


def test_a_key_is_found_by_what_the_client_presents_and_nothing_else() -> None:
    table = KeyTable([key(), key("team-b", "sk-team-b")])
    found = table.lookup("sk-team-b")
    assert found is not None and found.name == "team-b"
    assert table.lookup("sk-team-c") is None
    assert table.lookup("") is None
    assert table.lookup(None) is None
    assert table.lookup("SK-TEAM-A") is None


def test_a_key_given_as_its_digest_is_found_by_the_key() -> None:
    hexdigest = hashlib.sha256(b"sk-only-digest").hexdigest()
    table = KeyTable([GatewayKey(name="d", digest=parse_digest(hexdigest.upper()))])
    assert table.lookup("sk-only-digest") is not None


@pytest.mark.parametrize("text", ["abc", "z" * 64, "a" * 63])
def test_a_malformed_digest_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="64 hexadecimal"):
        parse_digest(text)


def test_apps_default_to_all_and_restrict_when_listed() -> None:
    assert key().may_use_app("anything")
    limited = key(apps=frozenset({"playground"}))
    assert limited.may_use_app("playground")
    assert not limited.may_use_app("prod")


@pytest.mark.parametrize(
    ("model", "allowed"),
    [
        ("gpt-4o", True),
        ("gpt-5-mini", True),
        ("claude-haiku-4.5", True),
        ("claude-haiku-4.5-latest", False),
        ("claude-sonnet-4", False),
        ("xgpt-4o", False),
        ("GPT-4o", False),  # globs match case-sensitively, as model names are
    ],
)
def test_model_globs_match_the_whole_requested_name(model: str, allowed: bool) -> None:
    limited = key(models=("gpt-*", "claude-haiku-4.5"))
    assert limited.may_use_model(model) is allowed
    assert limited.may_use_model(model) is allowed  # the memoised answer is the same


def test_no_models_listed_means_every_model_and_an_empty_list_means_none() -> None:
    assert key().may_use_model("anything")
    assert not key(models=()).may_use_model("gpt-4o")


def test_usage_is_counted_over_the_budget_period_else_the_whole_time() -> None:
    assert key().usage_period == "total"
    assert key(budget=Budget(usd=5, period="week")).usage_period == "week"
