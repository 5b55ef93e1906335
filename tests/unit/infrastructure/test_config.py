"""Config loading: substitution, .env, and validation errors that name the key path."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from adapters.inbound import FRONTDOORS
from adapters.outbound import PROVIDER_KINDS
from adapters.outbound.anthropic.settings import AnthropicSettings
from adapters.outbound.openai.settings import OpenAISettings
from domain.routing import Target, resolve
from infrastructure.config.build import model_listing, provider_settings, routing_table
from infrastructure.config.loader import (
    ConfigError,
    env_file_path,
    load_config,
    parse_config,
    read_environment,
)
from infrastructure.config.schema import ServerConfig

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
    assert route.targets[0] == Target(provider="openai", model="gpt-5-mini") and route.alias == "claude-haiku-4.5"
    assert resolve(table, "claude-3-opus").targets[0].provider == "anthropic"
    assert resolve(table, "anthropic/claude-3-opus").targets[0] == Target(provider="anthropic", model="claude-3-opus")


@pytest.mark.parametrize("model", ["claude-sonnet-4-5", "claude-haiku-4.5", "claude-haiku-4-5", "claude-opus-4-1"])
def test_bundled_anthropic_app_sends_claude_models_to_anthropic(model: str) -> None:
    config = load_config(ROOT / "config.yaml", env={}).config
    (app,) = [a for a in config.apps if a.frontdoor == "anthropic"]
    route = resolve(routing_table(config, app), model)
    assert route.targets[0] == Target(provider="anthropic", model=model) and route.alias is None
    assert resolve(routing_table(config, app), "openai/gpt-4o-mini").targets[0] == Target(provider="openai", model="gpt-4o-mini")


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
        ("server: {prot: 1}", "server.prot: unknown key (did you mean 'port'?)"),
        ("routing: {bogus: 1}", "routing.bogus: unknown key (known here: rules, default_provider)"),
        ("server: {port: many}", "server.port: expected an integer, got a string"),
        ("server: {workers: 1.5}", "server.workers: expected an integer, got 1.5"),
        ("server: {access_log: [1]}", "server.access_log: expected true or false, got a list"),
        ("server: []", "server: expected a mapping, got a list"),
        ("apps: [{name: a, frontdoor: grpc, path: /a}]", "apps[0].frontdoor: 'grpc' is not one of: openai, anthropic"),
        ("providers: [{name: p, type: gemini}]", f"providers[0].type: 'gemini' is not one of: {', '.join(PROVIDER_KINDS)}"),
        ("providers: [{name: p}]", "providers[0].type: required, but missing"),
        (
            "providers: [{name: p, type: openai, max_tokens_field: max_output}]",
            "providers[0].max_tokens_field: 'max_output' is not one of: max_completion_tokens, max_tokens",
        ),
        (
            "providers: [{name: p, type: openai, anthropic_version: '2023-06-01'}]",
            "providers[0].anthropic_version: a key of type anthropic only, not of type openai",
        ),
        ("server: {log_format: pretty}", "server.log_format: 'pretty' is not one of: auto, json, console"),
        ("apps: [{name: a, path: /a}]", "apps[0].frontdoor: required, but missing"),
        ("routing: {default_provider: 5}", "routing.default_provider: expected a string or a mapping (or nothing), got 5"),
        ("providers: [{name: p, type: openai, base_url: ftp://x}]", "providers[0].base_url: must start with http:// or https://"),
        ("routing: {default_provider: ghost}", "routing.default_provider: unknown provider 'ghost' (known: none)"),
        ("- a list", "the top level must be a mapping (server, apps, providers, routing)"),
    ],
)
def test_validation_errors_name_the_key_path(text: str, expected: str) -> None:
    assert problems(text) == [expected]


def test_frontdoor_and_provider_type_are_checked_against_the_registries() -> None:
    text = "apps: [{name: a, frontdoor: x, path: /a}]\nproviders: [{name: p, type: y}]"
    assert problems(text) == [
        f"apps[0].frontdoor: 'x' is not one of: {', '.join(FRONTDOORS)}",
        f"providers[0].type: 'y' is not one of: {', '.join(PROVIDER_KINDS)}",
    ]


def test_each_kind_s_own_keys_reach_its_provider_settings() -> None:
    text = """
providers:
  - {name: legacy, type: openai, base_url: "http://vllm:8000/v1/", max_tokens_field: max_tokens}
  - {name: claude, type: anthropic, anthropic_version: "2024-01-01", default_max_tokens: 1024}
  - {name: plain, type: openai}
"""
    legacy, claude, plain = (provider_settings(p, None) for p in parse_config(text, source="t", env={}).config.providers)

    assert legacy == OpenAISettings(name="legacy", base_url="http://vllm:8000/v1", max_tokens_field="max_tokens")
    assert claude == AnthropicSettings(
        name="claude", base_url="https://api.anthropic.com", anthropic_version="2024-01-01", default_max_tokens=1024
    )
    assert plain == OpenAISettings(name="plain", base_url="https://api.openai.com/v1")


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


def test_structural_problems_are_all_reported_with_the_cross_field_ones() -> None:
    text = """
server: {prot: 8080, port: many, log_level: loud}
apps:
  - {name: a, frontdoor: grpc, path: /a, extra: 1}
  - {name: b, frontdoor: openai, path: /b, model_routing: {rewrites: [{model_exact: m, provider: 5}]}}
providers:
  - {name: openai, type: openai, base_url: "${UNSET_URL}", timeouts: {connect: soon}}
routing: {default_provider: ghost}
"""
    assert problems(text) == [
        "server.prot: unknown key (did you mean 'port'?)",
        "server.port: expected an integer, got a string",
        "server.log_level: 'loud' is not one of: debug, info, warning, error",
        "apps[0].extra: unknown key (known here: name, frontdoor, path, model_routing, models)",
        "apps[0].frontdoor: 'grpc' is not one of: openai, anthropic",
        "apps[1].model_routing.rewrites[0].provider: expected a string (or nothing), got 5",
        "providers[0].base_url: environment variable UNSET_URL is not set and has no default",
        "providers[0].timeouts.connect: expected a number, got a string",
    ]


def test_an_unset_variable_does_not_hide_the_other_problems() -> None:
    text = """
server: {port: "${UNSET_PORT}", bogus: 1}
providers: [{name: openai, type: openai, base_url: "${UNSET_URL}"}]
routing: {default_provider: ghost}
"""
    assert problems(text) == [
        "server.bogus: unknown key (known here: " + ", ".join(ServerConfig.__struct_fields__) + ")",
        "server.port: environment variable UNSET_PORT is not set and has no default",
        "providers[0].base_url: environment variable UNSET_URL is not set and has no default",
        "routing.default_provider: unknown provider 'ghost' (known: openai)",
    ]


def test_a_problem_is_not_reported_again_by_the_rule_about_what_holds_it() -> None:
    # provider: 5 is dropped as invalid; "set exactly one of provider or targets" would say it twice
    text = """
providers: [{name: openai, type: openai}]
routing: {rules: [{model_prefix: gpt, provider: 5}], default_provider: openai}
"""
    assert problems(text) == ["routing.rules[0].provider: expected a string (or nothing), got 5"]


def test_gateway_variables_override_the_server_section_and_say_so_when_wrong() -> None:
    env = {"GATEWAY_PORT": "9000", "GATEWAY_LOG_LEVEL": "debug", "GATEWAY_ACCESS_LOG": "false"}
    server = parse_config("server: {port: 8080, log_level: info}", source="t", env=env).config.server
    assert (server.port, server.log_level, server.access_log) == (9000, "debug", False)
    assert problems("server: {port: 8080}", env={"GATEWAY_PORT": "eighty"}) == [
        "server.port (from GATEWAY_PORT): expected an integer, got a string"
    ]
    assert problems("", env={"GATEWAY_PORT": "99999"}) == ["server.port (from GATEWAY_PORT): must be between 1 and 65535"]


def test_gateway_variables_are_read_from_the_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEWAY_PORT", raising=False)
    config = tmp_path / "config.yaml"
    config.write_text("server: {port: 8080}\n")
    (tmp_path / "gateway.env").write_text("GATEWAY_PORT=9100\n")
    loaded = load_config(config, env_file=tmp_path / "gateway.env")
    assert loaded.config.server.port == 9100
    assert loaded.env_file == str(tmp_path / "gateway.env")


def test_env_file_defaults_to_the_working_directory_or_gateway_env_file(tmp_path: Path) -> None:
    assert env_file_path({}) == Path(".env").absolute()
    assert env_file_path({"GATEWAY_ENV_FILE": str(tmp_path / "x.env")}) == tmp_path / "x.env"


def run_app(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args], cwd=cwd, capture_output=True, text=True, timeout=60, env=env
    )


def test_check_exits_0_for_a_valid_config_and_names_unset_keys(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL")) and not k.startswith("GATEWAY_")}
    result = run_app("--config", str(ROOT / "config.yaml"), "--check", cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    assert "config.yaml: valid" in result.stdout
    assert "OPENAI_API_KEY is not set" in result.stdout and "ANTHROPIC_API_KEY is not set" in result.stdout


def test_check_exits_2_and_lists_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("server: {prot: 1, log_level: loud}\n")
    result = run_app("--config", str(bad), "--check")
    assert result.returncode == 2
    assert "server.prot: unknown key (did you mean 'port'?)" in result.stderr
    assert "server.log_level: 'loud' is not one of: debug, info, warning, error" in result.stderr


def test_version_prints_the_installed_version() -> None:
    result = run_app("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"poly-llm-gateway {metadata.version('poly-llm-gateway')}"


def test_bad_config_exits_non_zero_with_message_and_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apps: [{name: a, frontdoor: openai, path: /a, extra: 1}]\n")
    result = subprocess.run(
        [sys.executable, "-m", "app", "--config", str(bad)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "apps[0].extra: unknown key" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_missing_config_file_exits_non_zero(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app", "--config", str(tmp_path / "none.yaml")],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "cannot read the file" in result.stderr


def test_an_unreadable_env_file_exits_2_naming_it(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes(b"OPENAI_API_KEY=\xff\xfe\n")
    result = run_app("--config", str(ROOT / "config.yaml"), "--check", cwd=tmp_path,
                     env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert result.returncode == 2
    assert f"{tmp_path / '.env'}: invalid configuration" in result.stderr and "cannot read the file" in result.stderr
    assert "Traceback" not in result.stderr
