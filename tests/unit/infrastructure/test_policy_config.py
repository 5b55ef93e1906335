"""The auth section: what a config check refuses, and what start-up warns about."""

from __future__ import annotations

import hashlib

import pytest

from infrastructure.config.loader import ConfigError, parse_config
from infrastructure.policy import PolicyStore, build_policy, startup_warnings

BASE = """
server: {host: 'HOST', workers: WORKERS}
apps: [{name: oa, frontdoor: openai, path: /openai}]
providers: [{name: openai, type: openai, api_key: sk-x}]
routing: {default_provider: openai}
"""


def config(auth: str = "", host: str = "127.0.0.1", workers: int = 1, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    text = BASE.replace("HOST", host).replace("WORKERS", str(workers)) + auth
    return parse_config(text, source="test", env=env or {})


@pytest.mark.parametrize(
    ("auth", "problem"),
    [
        ("auth: {keys: [{name: a}]}", "auth.keys[0]: set exactly one of key or key_sha256"),
        ("auth: {keys: [{name: a, key: k1, key_sha256: " + "a" * 64 + "}]}", "set exactly one"),
        ("auth: {keys: [{name: a, key_sha256: abc}]}", "auth.keys[0].key_sha256: key_sha256 must be 64 hexadecimal"),
        ("auth: {keys: [{name: a, key: k1}, {name: a, key: k2}]}", "auth.keys[1].name: duplicate key name 'a'"),
        ("auth: {keys: [{name: a, key: k1, apps: [nope]}]}", "auth.keys[0].apps: unknown app 'nope'"),
        ("auth: {keys: [{name: a, key: k1, budget: {usd: 1, period: year}}]}", "period"),
        ("auth: {keys: [{name: a, key: k1, limits: {rpm: 0}}]}", "rpm"),
        ("auth: {keys: [{name: a, key: '${UNSET_TEAM_KEY}'}]}", "UNSET_TEAM_KEY"),
    ],
)
def test_a_wrong_key_entry_is_refused_with_its_path(auth: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config(auth)
    assert problem in str(caught.value)


def test_a_key_given_as_a_digest_is_built() -> None:
    digest = hashlib.sha256(b"sk-from-digest").hexdigest()
    loaded = config(f"auth: {{keys: [{{name: a, key_sha256: {digest}}}]}}")
    policy = build_policy(loaded, PolicyStore())
    assert policy is not None and policy.table.lookup("sk-from-digest") is not None


def test_no_keys_is_no_policy() -> None:
    assert build_policy(config(), PolicyStore()) is None


@pytest.mark.parametrize(("host", "warned"), [("127.0.0.1", False), ("::1", False), ("localhost", False), ("0.0.0.0", True)])
def test_an_open_gateway_off_loopback_is_warned_about(host: str, warned: bool) -> None:
    events = [event for event, _ in startup_warnings(config(host=host).config)]
    assert ("auth.open" in events) is warned


def test_limits_per_worker_are_warned_about_without_redis() -> None:
    keys = "auth: {keys: [{name: a, key: sk-abcdefgh}]}"
    assert [e for e, _ in startup_warnings(config(keys, workers=2).config)] == ["state.per_worker"]
    assert startup_warnings(config(keys, workers=1).config) == []
    shared = keys + "\nstate: {redis_url: 'redis://127.0.0.1:6379/11'}"
    assert startup_warnings(config(shared, workers=2).config) == []
