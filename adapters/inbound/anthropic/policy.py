"""The Anthropic frontdoor's side of the policy: the key is ``x-api-key`` or ``Authorization:
Bearer``, and limits are told in Anthropic's ``anthropic-ratelimit-*`` headers (resets as RFC
3339 times)."""

from __future__ import annotations

import time

from adapters.inbound.credentials import api_key_or_bearer as credential
from domain.policy import Grant

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


def limit_headers(grant: Grant) -> list[tuple[bytes, bytes]]:
    limits = grant.key.limits
    headers: list[tuple[bytes, bytes]] = []
    admission = grant.admission
    if limits.rpm is not None and admission is not None and admission.requests_remaining is not None:
        headers += (
            (b"anthropic-ratelimit-requests-limit", b"%d" % limits.rpm),
            (b"anthropic-ratelimit-requests-remaining", b"%d" % admission.requests_remaining),
            (b"anthropic-ratelimit-requests-reset", moment(admission.requests_reset)),
        )
    tokens = grant.tokens
    if limits.tpm is not None and tokens is not None:
        headers += (
            (b"anthropic-ratelimit-tokens-limit", b"%d" % limits.tpm),
            (b"anthropic-ratelimit-tokens-remaining", b"%d" % tokens.remaining),
            (b"anthropic-ratelimit-tokens-reset", moment(tokens.reset)),
        )
    return headers
