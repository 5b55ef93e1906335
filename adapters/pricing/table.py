"""The gateway's price table: the config's ``pricing`` entries over the bundled table.

For a deployment (provider name, upstream model) the first of these wins: an entry naming both;
an entry naming the model without a provider; the bundled price (``bundled.py``) of the
genai-prices provider our provider maps to. A deployment none of them prices costs 0, and is
logged once as ``pricing.unpriced``: never a guessed price.

Each deployment is looked up once; after that ``price`` is a dict hit (no lock: a race costs
at most a second look-up of the same answer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import msgspec
import structlog

from adapters.pricing.bundled import bundled_price
from domain.pricing import Price

log = structlog.get_logger("gateway.pricing")

MEMO_LIMIT = 4096  # deployments remembered; then the memo starts over


class PriceEntry(msgspec.Struct, frozen=True):
    """One configured price: for ``model`` at ``provider`` (None: at any provider)."""

    model: str
    price: Price
    provider: str | None = None


class Prices:
    """``domain.pricing.PriceTable`` over configured entries and the bundled table.

    ``bundled_ids`` maps each provider name to its genai-prices provider id
    (``bundled.bundled_provider_id``); a provider missing from it has no bundled prices.
    """

    def __init__(
        self,
        entries: Iterable[PriceEntry],
        bundled_ids: Mapping[str, str],
        lookup: Callable[[str, str], Price | None] = bundled_price,
    ) -> None:
        self._entries: dict[tuple[str | None, str], Price] = {}
        for entry in entries:
            self._entries.setdefault((entry.provider, entry.model), entry.price)  # the first one wins
        self._bundled_ids = dict(bundled_ids)
        self._lookup = lookup
        self._memo: dict[tuple[str, str], Price | None] = {}
        self._unpriced_logged: set[tuple[str, str]] = set()

    def price(self, provider: str, model: str) -> Price | None:
        key = (provider, model)
        try:
            return self._memo[key]
        except KeyError:
            pass
        found = self._find(provider, model)
        if len(self._memo) >= MEMO_LIMIT:
            self._memo.clear()
        self._memo[key] = found
        if found is None and key not in self._unpriced_logged and len(self._unpriced_logged) < MEMO_LIMIT:
            self._unpriced_logged.add(key)
            log.warning(
                "pricing.unpriced",
                provider=provider,
                model=model,
                detail="no price known: its requests cost 0; add a 'pricing' entry to price it",
            )
        return found

    def _find(self, provider: str, model: str) -> Price | None:
        configured = self._entries.get((provider, model)) or self._entries.get((None, model))
        if configured is not None:
            return configured
        bundled_id = self._bundled_ids.get(provider)
        if bundled_id is None:
            return None
        return self._lookup(bundled_id, model)
