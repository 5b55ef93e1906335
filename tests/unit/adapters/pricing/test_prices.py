"""The price table: configured entries over the bundled genai-prices table, memoised, with
unpriced deployments logged once."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from adapters.pricing.bundled import bundled_price, bundled_provider_id
from adapters.pricing.table import MEMO_LIMIT, PriceEntry, Prices
from domain.pricing import Price

BUNDLED = Price(input=1.0, output=2.0)
MINE = Price(input=0.5, output=0.5)
ANYWHERE = Price(input=0.25, output=0.25)


class Lookup:
    def __init__(self, known: dict[tuple[str, str], Price]) -> None:
        self.known = known
        self.calls: list[tuple[str, str]] = []

    def __call__(self, provider_id: str, model: str) -> Price | None:
        self.calls.append((provider_id, model))
        return self.known.get((provider_id, model))


def table(lookup: Lookup, *entries: PriceEntry) -> Prices:
    return Prices(entries, {"oai": "openai", "groq-fast": "groq"}, lookup=lookup)


def test_an_entry_naming_the_provider_wins_over_one_for_any_provider_which_wins_over_the_bundled() -> None:
    lookup = Lookup({("openai", "m"): BUNDLED, ("groq", "m"): BUNDLED})
    prices = table(
        lookup,
        PriceEntry(model="m", price=ANYWHERE),
        PriceEntry(model="m", price=MINE, provider="oai"),
    )
    assert prices.price("oai", "m") == MINE
    assert prices.price("groq-fast", "m") == ANYWHERE
    assert prices.price("oai", "other") is None
    assert lookup.calls == [("openai", "other")]


def test_the_bundled_price_is_looked_up_under_the_providers_bundled_id() -> None:
    lookup = Lookup({("groq", "llama"): BUNDLED})
    prices = table(lookup)
    assert (prices.price("groq-fast", "llama"), prices.price("oai", "llama")) == (BUNDLED, None)
    assert prices.price("unmapped", "llama") is None  # no bundled id: only entries can price it
    assert lookup.calls == [("groq", "llama"), ("openai", "llama")]


def test_each_deployment_is_looked_up_once() -> None:
    lookup = Lookup({("openai", "m"): BUNDLED})
    prices = table(lookup)
    assert [prices.price("oai", "m") for _ in range(3)] == [BUNDLED] * 3
    assert [prices.price("oai", "x") for _ in range(3)] == [None] * 3
    assert lookup.calls == [("openai", "m"), ("openai", "x")]


def test_an_unpriced_deployment_is_logged_once() -> None:
    prices = table(Lookup({}))
    with capture_logs() as logs:
        for _ in range(3):
            prices.price("oai", "mystery")
        prices.price("groq-fast", "mystery")
    unpriced = [(e["provider"], e["model"]) for e in logs if e["event"] == "pricing.unpriced"]
    assert unpriced == [("oai", "mystery"), ("groq-fast", "mystery")]


def test_the_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("adapters.pricing.table.MEMO_LIMIT", 2)
    lookup = Lookup({})
    prices = table(lookup)
    for model in ("a", "b", "c", "a"):
        prices.price("oai", model)
    assert lookup.calls == [("openai", m) for m in ("a", "b", "c", "a")]  # "a" was forgotten at "c"
    assert MEMO_LIMIT >= 1024


@pytest.mark.parametrize(
    ("kind", "base_url", "expected"),
    [
        ("openai", "https://api.openai.com/v1", "openai"),
        ("anthropic", "https://api.anthropic.com", "anthropic"),
        ("openai", "https://api.groq.com/openai/v1", "groq"),
        ("openai", "https://openrouter.ai/api/v1", "openrouter"),
        ("openai", "http://127.0.0.1:8000/v1", "openai"),  # unknown host: the kind's vendor
        ("anthropic", "https://llm-proxy.example/anthropic", "anthropic"),
    ],
)
def test_providers_map_to_bundled_ids_by_base_url_then_kind(kind: str, base_url: str, expected: str) -> None:
    assert bundled_provider_id(kind, base_url) == expected


def test_bundled_prices_come_from_the_pinned_genai_prices_table() -> None:
    # genai-prices 0.2.3 (pinned): OpenAI's and Anthropic's published prices
    assert bundled_price("openai", "gpt-4o-mini") == Price(input=0.15, output=0.6, cache_read=0.075)
    haiku = Price(input=1.0, output=5.0, cache_read=0.1, cache_write=1.25)
    assert bundled_price("anthropic", "claude-haiku-4-5-20251001") == haiku
    sonnet = bundled_price("anthropic", "claude-sonnet-4-5")
    assert sonnet is not None and sonnet.tiers == ((200_000, Price(6.0, 22.5, 0.6, 7.5)),)
    assert bundled_price("openai", "llama-3.1-8b") is None
    assert bundled_price("nonexistent-provider", "gpt-4o-mini") is None
