"""The Anthropic frontdoor's side of the policy: the key is ``x-api-key`` or ``Authorization:
Bearer``, and limits are told in Anthropic's ``anthropic-ratelimit-*`` headers (resets as RFC
3339 times)."""

from __future__ import annotations

import time

from adapters.inbound.credentials import api_key_or_bearer as credential
from adapters.inbound.rate_limit_headers import rate_limit_headers

__all__ = ["credential", "limit_headers"]


_moments: dict[int, bytes] = {}


def moment(seconds_from_now: float) -> bytes:
    """Now plus ``seconds_from_now`` as an RFC 3339 UTC time (remembered per second)."""
    second = int(time.time() + max(0.0, seconds_from_now))
    text = _moments.get(second)
    if text is None:
        if len(_moments) > 256:
            _moments.clear()
        text = _moments[second] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)).encode()
    return text


limit_headers = rate_limit_headers(
    (b"anthropic-ratelimit-requests-limit", b"anthropic-ratelimit-requests-remaining",
     b"anthropic-ratelimit-requests-reset"),
    (b"anthropic-ratelimit-tokens-limit", b"anthropic-ratelimit-tokens-remaining",
     b"anthropic-ratelimit-tokens-reset"),
    moment,
)
