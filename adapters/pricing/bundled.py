"""Prices from the ``genai-prices`` package (its bundled snapshot, never fetched at run time).

A provider of ours is looked up as the genai-prices provider whose API URL pattern matches its
``base_url`` (OpenAI, Anthropic, Groq, OpenRouter, ...); a ``base_url`` it does not know (a
proxy, a self-hosted server) falls back to the provider of our kind (``openai``,
``anthropic``), where only that vendor's own model names are found. The 5-minute cache-write
rate is the one used (the IR does not tell the 1-hour writes apart). Long-context tiers become
``Price.tiers``. Prices are taken as of the look-up.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from genai_prices import Usage, calc_price
from genai_prices.data_snapshot import get_snapshot
from genai_prices.types import TieredPrices

from domain.pricing import Price

_RATES = ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok")


def bundled_provider_id(kind: str, base_url: str) -> str:
    """The genai-prices provider id for a provider of ``kind`` at ``base_url``."""
    try:
        return str(get_snapshot().find_provider(None, None, base_url).id)
    except LookupError:
        return kind


def bundled_price(provider_id: str, model: str) -> Price | None:
    """The bundled price of ``model`` at ``provider_id``, or None when the package has none."""
    try:
        found = calc_price(Usage(input_tokens=0, output_tokens=0), model, provider_id=provider_id)
    except LookupError:
        return None
    rates = [getattr(found.model_price, name, None) for name in _RATES]
    if rates[0] is None and rates[1] is None:
        return None  # priced per request, per second, ...: not per token
    starts = sorted({tier.start for rate in rates if isinstance(rate, TieredPrices) for tier in rate.tiers})
    base = _price([_rate(rate, None) for rate in rates])
    if not starts:
        return base
    tiers = tuple((start, _price([_rate(rate, start) for rate in rates])) for start in starts)
    return Price(base.input, base.output, base.cache_read, base.cache_write, tiers=tiers)


def _rate(rate: Any, above: int | None) -> float | None:
    """A rate as a float: a tiered one's base, or its rate for prompts above ``above`` tokens."""
    if rate is None:
        return None
    if isinstance(rate, TieredPrices):
        chosen: Decimal = rate.base
        if above is not None:
            for tier in rate.tiers:
                if tier.start <= above:
                    chosen = tier.price
        return float(chosen)
    return float(rate)


def _price(rates: list[float | None]) -> Price:
    input_rate, output_rate, cache_read, cache_write = rates
    return Price(input_rate or 0.0, output_rate or 0.0, cache_read=cache_read, cache_write=cache_write)
