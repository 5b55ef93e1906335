"""What a request costs: prices per million tokens, and the cost of a usage at a price.

The IR's ``Usage`` counts every prompt token in ``input_tokens``, cache reads and cache writes
included (OpenAI's convention; the Anthropic codec adds its cache counts to its wire
``input_tokens``, which excludes them). So the uncached input is ``input - cache_read -
cache_write``, and each of the three parts is priced at its own rate.

A price table (``PriceTable``, implemented in ``adapters/pricing``) says what a deployment
(provider, upstream model) charges, or ``None`` when nobody knows: such a request costs 0.
"""

from __future__ import annotations

from typing import Protocol as _Protocol

import msgspec

from domain.ir import Usage
from domain.request_record import RequestRecord

PER_TOKENS = 1_000_000
COST_DIGITS = 10  # decimal places a cost is rounded to (USD)
_SCALE: float = 10**COST_DIGITS / PER_TOKENS
_DIVISOR: float = float(10**COST_DIGITS)


class Price(msgspec.Struct, frozen=True):
    """USD per million tokens. A cache rate left ``None`` is the input rate.

    ``tiers``: prices that replace this one for a request whose prompt (``input_tokens``, cache
    included) is larger than a threshold, as ``(threshold, price)`` in ascending order; the
    highest threshold crossed applies to every token of the request (providers' long-context
    prices work that way).
    """

    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None
    tiers: tuple[tuple[int, Price], ...] = ()

    def at(self, input_tokens: int) -> Price:
        """The price that applies to a prompt of ``input_tokens`` tokens."""
        chosen = self
        for threshold, tier in self.tiers:
            if input_tokens <= threshold:
                break
            chosen = tier
        return chosen

    def blend(self) -> float:
        """One figure to compare prices by: input + output per million tokens."""
        return self.input + self.output


class PriceTable(_Protocol):
    """Prices of deployments. ``price`` is on the hot path: a dict look-up once warm."""

    def price(self, provider: str, model: str) -> Price | None: ...


def token_cost(
    price: Price,
    input_tokens: int,
    output_tokens: int,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
) -> float:
    """USD for these counts (``input_tokens`` includes the two cache counts), rounded to
    ``COST_DIGITS`` places. Counts that do not add up (cache above input) are never negative."""
    if price.tiers:
        price = price.at(input_tokens)
    uncached = input_tokens - cache_read_tokens - cache_write_tokens
    read_rate, write_rate = price.cache_read, price.cache_write
    total = (
        (uncached * price.input if uncached > 0 else 0.0)
        + cache_read_tokens * (price.input if read_rate is None else read_rate)
        + cache_write_tokens * (price.input if write_rate is None else write_rate)
        + output_tokens * price.output
    )
    # USD per million tokens x tokens -> USD, to COST_DIGITS places (an integer division is
    # correctly rounded, and cheaper than round(x, digits))
    return round(total * _SCALE) / _DIVISOR


def _count(value: object) -> int:
    return value if isinstance(value, int) else 0


def cost(usage: Usage, price: Price) -> float:
    """USD for ``usage`` at ``price``; counts the usage lacks are 0."""
    return token_cost(
        price,
        _count(usage.input_tokens),
        _count(usage.output_tokens),
        _count(usage.cache_read_tokens),
        _count(usage.cache_creation_tokens),
    )


def price_record(record: RequestRecord, table: PriceTable) -> None:
    """Set ``record.cost_usd`` from the usage it holds and the deployment that served it (0 when
    the table has no price for it). Nothing is set for a request no provider answered."""
    provider, model = record.provider, record.upstream_model
    if provider is None or model is None:
        return
    price = table.price(provider, model)
    if price is None:
        record.cost_usd = 0.0
        return
    record.cost_usd = token_cost(
        price,
        record.input_tokens or 0,
        record.output_tokens or 0,
        record.cache_read_tokens or 0,
        record.cache_write_tokens or 0,
    )
