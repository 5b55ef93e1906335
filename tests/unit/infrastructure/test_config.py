"""Config loading: substitution, .env, and validation errors that name the key path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from infrastructure.config.derive import model_listing, routing_table
from infrastructure.config.loader import ConfigError, load_config, parse_config, read_environment
from domain.routing import Target, resolve

ROOT = Path(__file__).resolve().parents[3]

MINIMAL = """
providers:
  - {name: openai, type: openai, api_key: "${OPENAI_API_KEY}"}
routing: {default_provider: openai}
"""


def problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, source="test.yaml", env=env or {})
    return info.value.problems


def test_bundled_config_loads_and_routes_like_the_seed() -> None:
    loaded = load_config(ROOT / "config.yaml", env={"OPENAI_API_KEY": "k1", "ANTHROPIC_API_KEY": "k2"})
    config = loaded.config
    assert [(a.path, a.frontdoor) for a in config.apps] == [("/openai", "openai"), ("/anthropic", "anthropic")]
    assert config.server.port == 8080
    assert loaded.missing_keys == {}
    table = routing_table(config, config.apps[0])
    route = resolve(table, "claude-haiku-4.5")
    assert route.primary == Target(provider="openai", model="gpt-5-mini") and route.alias == "claude-haiku-4.5"
    assert resolve(table, "claude-3-opus").primary.provider == "anthropic"
    assert resolve(table, "anthropic/claude-3-opus").primary == Target(provider="anthropic", model="claude-3-opus")


def test_substitution_with_defaults_and_types() -> None:
    text = MINIMAL + "server: {port: '${PORT:-9001}', host: '${HOST:-0.0.0.0}'}\n"
    loaded = parse_config(text, source="t", env={"OPENAI_API_KEY": "sk-1", "HOST": "127.0.0.2"})
    assert loaded.config.server.port == 9001
    assert loaded.config.server.host == "127.0.0.2"
    assert loaded.config.providers[0].api_key == "sk-1"


def test_unset_key_variable_is_a_warning_not_an_error() -> None:
    loaded = parse_config(MINIMAL, source="t", env={})
    assert loaded.missing_keys == {"openai": "OPENAI_API_KEY"}
    assert loaded.config.providers[0].api_key is None


def test_empty_key_variable_counts_as_unset() -> None:
    assert parse_config(MINIMAL, source="t", env={"OPENAI_API_KEY": ""}).missing_keys == {"openai": "OPENAI_API_KEY"}


def test_unset_variable_elsewhere_is_an_error_with_its_path() -> None:
    text = MINIMAL.replace('api_key: "${OPENAI_API_KEY}"', 'base_url: "${VLLM_URL}"')
    assert problems(text) == ["providers[0].base_url: environment variable VLLM_URL is not set and has no default"]


def test_env_file_is_read_and_real_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("FROM_FILE=file\nBOTH=file\n")
    monkeypatch.setenv("BOTH", "process")
    env = read_environment(env_file)
    assert env["FROM_FILE"] == "file" and env["BOTH"] == "process"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("server: {bogus: 1}", "server: Object contains unknown field `bogus`"),
        ("server: {port: many}", "server.port: Expected `int`, got `str`"),
        ("apps: [{name: a, frontdoor: grpc, path: /a}]", "apps[0].frontdoor: Invalid enum value 'grpc'"),
        ("apps: [{name: a, path: /a}]", "apps[0]: Object missing required field `frontdoor`"),
        ("providers: [{name: p, type: openai, base_url: ftp://x}]", "providers[0].base_url: must start with http:// or https://"),
        ("routing: {default_provider: ghost}", "routing.default_provider: unknown provider 'ghost' (known: none)"),
        ("- a list", "the top level must be a mapping (server, apps, providers, routing)"),
    ],
)
def test_validation_errors_name_the_key_path(text: str, expected: str) -> None:
    assert problems(text) == [expected]


def test_all_cross_field_problems_are_reported_together() -> None:
    text = """
providers: [{name: openai, type: openai}, {name: openai, type: anthropic}]
apps:
  - name: a
    frontdoor: openai
    path: /x
    model_routing:
      prefix_providers: {g: groq}
      rewrites: [{model_exact: m, model_prefix: n, provider: openai}, {model_exact: k, provider: nope}]
  - {name: a, frontdoor: anthropic, path: /x}
  - {name: c, frontdoor: anthropic, path: y/}
routing:
  rules: [{model_prefix: gpt, provider: ghost}]
"""
    found = problems(text)
    assert "providers: duplicate provider name 'openai'" in found
    assert "apps[0].model_routing.prefix_providers.g: unknown provider 'groq' (known: openai, openai)" in found
    assert "apps[0].model_routing.rewrites[0]: set exactly one of model_exact or model_prefix" in found
    assert "apps[0].model_routing.rewrites[1].provider: unknown provider 'nope' (known: openai, openai)" in found
    assert "apps[1].path: duplicate app path '/x' (also apps[0])" in found
    assert "apps[1].name: duplicate app name 'a'" in found
    assert "apps[2].path: must start with '/' and not end with '/' (got 'y/')" in found
    assert "routing.rules[0].provider: unknown provider 'ghost' (known: openai, openai)" in found


def test_model_listing_has_seeds_then_rewrite_names() -> None:
    text = """
providers: [{name: openai, type: openai}]
apps:
  - name: a
    frontdoor: openai
    path: /a
    model_routing:
      rewrites:
        - {model_exact: claude-haiku-4.5, provider: openai, model: gpt-5-mini, rewrite_response_model: true}
        - {model_exact: cheap, provider: openai, model: gpt-4o-mini}
        - {model_prefix: x-, provider: openai, model: gpt-4o}
    models: [{id: claude-haiku-4.5, owned_by: gateway}]
"""
    app = parse_config(text, source="t", env={}).config.apps[0]
    assert model_listing(app) == ({"id": "claude-haiku-4.5", "owned_by": "gateway"}, {"id": "gpt-4o-mini"})


def test_bad_config_exits_non_zero_with_message_and_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apps: [{name: a, frontdoor: openai, path: /a, extra: 1}]\n")
    result = subprocess.run(
        [sys.executable, "-m", "app", "--config", str(bad)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "apps[0]: Object contains unknown field `extra`" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_missing_config_file_exits_non_zero(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app", "--config", str(tmp_path / "none.yaml")],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "cannot read the file" in result.stderr
