"""What the config's ``pricing`` entries and route ``strategy`` become."""

from __future__ import annotations

import pytest

from domain.pricing import Price
from domain.routing import resolve
from infrastructure.config.build import price_table, routing_table
from infrastructure.config.loader import ConfigError, LoadedConfig, parse_config

CONFIG = """
apps: [{name: oa, frontdoor: openai, path: /openai}]
providers:
  - {name: local, type: openai, api_key: k, base_url: "http://127.0.0.1:8000/v1"}
  - {name: fast, type: openai, api_key: k, base_url: "https://api.groq.com/openai/v1"}
  - {name: oai, type: openai, api_key: k}
routing:
  rules:
    - model_prefix: pool-
      strategy: cheapest
      targets: [{provider: oai, model: gpt-4o-mini}, {provider: fast, model: llama-3.1-8b-instant}]
    - {model_prefix: one-, provider: oai}
pricing:
  - {provider: local, model: llama-3.1-8b, input_per_mtok: 0, output_per_mtok: 0}
  - {model: gpt-4o-mini, input_per_mtok: 0.2, output_per_mtok: 0.8, cache_read_per_mtok: 0.1}
"""


def loaded() -> LoadedConfig:
    return parse_config(CONFIG, source="test", env={})


def test_entries_win_and_the_bundled_table_prices_the_rest() -> None:
    prices = price_table(loaded().config)
    assert prices.price("local", "llama-3.1-8b") == Price(input=0.0, output=0.0)
    assert prices.price("oai", "gpt-4o-mini") == Price(input=0.2, output=0.8, cache_read=0.1)
    assert prices.price("fast", "gpt-4o-mini") == Price(input=0.2, output=0.8, cache_read=0.1)  # any provider
    assert prices.price("fast", "llama-3.1-8b-instant") == Price(input=0.05, output=0.08)  # groq, by base_url
    assert prices.price("local", "some-local-model") is None


def test_a_routes_strategy_reaches_the_domain() -> None:
    config = loaded().config
    table = routing_table(config, config.apps[0])
    assert resolve(table, "pool-x").strategy == "cheapest"
    assert resolve(table, "one-x").strategy == "weighted"


def test_a_pricing_entry_naming_an_unknown_provider_or_priced_twice_is_a_problem() -> None:
    text = CONFIG + """  - {provider: nowhere, model: m, input_per_mtok: 1, output_per_mtok: 1}
  - {model: gpt-4o-mini, input_per_mtok: 1, output_per_mtok: 1}
"""
    with pytest.raises(ConfigError) as raised:
        parse_config(text, source="test", env={})
    problems = raised.value.problems
    assert any(p.startswith("pricing[2].provider: unknown provider 'nowhere'") for p in problems)
    assert "pricing[3]: a second price for 'gpt-4o-mini' (also pricing[1])" in problems
