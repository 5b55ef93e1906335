"""The OpenAI frontdoor's side of the policy: the key is ``Authorization: Bearer``, and limits
are told in OpenAI's ``x-ratelimit-*`` headers (resets as durations: ``1m0s``, ``12.5s``)."""

from __future__ import annotations

from adapters.inbound.credentials import bearer as credential
from domain.policy import Grant

__all__ = ["credential", "limit_headers"]


def duration(seconds: float) -> bytes:
    if seconds < 1:
        return b"%dms" % max(0, round(seconds * 1000))
    if seconds < 60:
        return b"%gs" % round(seconds, 1)
    minutes, rest = divmod(round(seconds), 60)
    return b"%dm%ds" % (minutes, rest)


def limit_headers(grant: Grant) -> list[tuple[bytes, bytes]]:
    limits = grant.key.limits
    headers: list[tuple[bytes, bytes]] = []
    admission = grant.admission
    if limits.rpm is not None and admission is not None and admission.requests_remaining is not None:
        headers += (
            (b"x-ratelimit-limit-requests", b"%d" % limits.rpm),
            (b"x-ratelimit-remaining-requests", b"%d" % admission.requests_remaining),
            (b"x-ratelimit-reset-requests", duration(admission.requests_reset)),
        )
    tokens = grant.tokens
    if limits.tpm is not None and tokens is not None:
        headers += (
            (b"x-ratelimit-limit-tokens", b"%d" % limits.tpm),
            (b"x-ratelimit-remaining-tokens", b"%d" % tokens.remaining),
            (b"x-ratelimit-reset-tokens", duration(tokens.reset)),
        )
    return headers
