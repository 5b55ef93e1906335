"""Gateway keys: who may call the gateway, which apps and models each key may use, its limits.

A key is held only as its SHA-256 digest. A lookup hashes the presented key once, finds the
entry by digest and confirms it with a constant-time comparison (the dictionary's own hashing
works on the digest, which tells a prober nothing about any key).
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

PERIODS = ("day", "week", "month", "total")
_MODEL_MEMO_LIMIT = 1024


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


@dataclass(frozen=True, slots=True)
class Limits:
    rpm: int | None = None  # requests in a sliding minute
    tpm: int | None = None  # input + output tokens in a sliding minute
    concurrent: int | None = None  # requests in flight at once

    @property
    def any(self) -> bool:
        return self.rpm is not None or self.tpm is not None or self.concurrent is not None


@dataclass(frozen=True, slots=True)
class Budget:
    usd: float
    period: str = "month"  # day | week | month | total, UTC calendar


@dataclass(frozen=True, slots=True, eq=False)
class GatewayKey:
    """One configured key, by name; ``digest`` is the SHA-256 of the key itself."""

    name: str
    digest: bytes
    apps: frozenset[str] | None = None  # None: every app
    models: tuple[str, ...] | None = None  # globs on the requested model; None: every model
    limits: Limits = Limits()
    budget: Budget | None = None
    _pattern: re.Pattern[str] | None = field(default=None, init=False, repr=False)
    _memo: dict[str, bool] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.models is not None:
            joined = "|".join(f"(?:{fnmatch.translate(glob)})" for glob in self.models) or "(?!)"
            object.__setattr__(self, "_pattern", re.compile(joined))

    @property
    def usage_period(self) -> str:
        """The period its usage is counted over: its budget's, else the whole time."""
        return self.budget.period if self.budget is not None else "total"

    def may_use_app(self, app: str) -> bool:
        return self.apps is None or app in self.apps

    def may_use_model(self, model: str) -> bool:
        pattern = self._pattern
        if pattern is None:
            return True
        memo = self._memo
        allowed = memo.get(model)
        if allowed is None:
            allowed = pattern.fullmatch(model) is not None
            if len(memo) >= _MODEL_MEMO_LIMIT:  # names are client-chosen: keep the memo bounded
                memo.clear()
            memo[model] = allowed
        return allowed


def parse_digest(text: str) -> bytes:
    """A ``key_sha256`` value (64 hex digits) as bytes; ValueError otherwise."""
    cleaned = text.strip().lower()
    if len(cleaned) != 64 or any(c not in "0123456789abcdef" for c in cleaned):
        raise ValueError("key_sha256 must be 64 hexadecimal digits")
    return bytes.fromhex(cleaned)


class KeyTable:
    """The configured keys, found by the digest of what a client presents."""

    __slots__ = ("_by_digest", "keys")

    def __init__(self, keys: Iterable[GatewayKey]) -> None:
        self.keys: tuple[GatewayKey, ...] = tuple(keys)
        self._by_digest = {key.digest: key for key in self.keys}

    def __len__(self) -> int:
        return len(self.keys)

    def lookup(self, presented: str | None) -> GatewayKey | None:
        if not presented:
            return None
        wanted = digest(presented)
        found = self._by_digest.get(wanted)
        if found is None or not hmac.compare_digest(found.digest, wanted):
            return None
        return found
