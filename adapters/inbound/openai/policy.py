"""The OpenAI frontdoor's side of the policy: the key is ``Authorization: Bearer``, and limits
are told in OpenAI's ``x-ratelimit-*`` headers (resets as durations: ``1m0s``, ``12.5s``)."""

from __future__ import annotations

from adapters.inbound.credentials import bearer as credential
from adapters.inbound.rate_limit_headers import rate_limit_headers

__all__ = ["credential", "limit_headers"]


def duration(seconds: float) -> bytes:
    if seconds < 1:
        return b"%dms" % max(0, round(seconds * 1000))
    if seconds < 60:
        return b"%gs" % round(seconds, 1)
    minutes, rest = divmod(round(seconds), 60)
    return b"%dm%ds" % (minutes, rest)


limit_headers = rate_limit_headers(
    (b"x-ratelimit-limit-requests", b"x-ratelimit-remaining-requests", b"x-ratelimit-reset-requests"),
    (b"x-ratelimit-limit-tokens", b"x-ratelimit-remaining-tokens", b"x-ratelimit-reset-tokens"),
    duration,
)
