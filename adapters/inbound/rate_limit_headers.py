"""A gateway key's rate-limit headers, in any protocol's names: each frontdoor gives its six
header names and how it writes a reset (a duration, a time), and gets its ``limit_headers``."""

from __future__ import annotations

from collections.abc import Callable

from domain.policy import Grant

Headers = list[tuple[bytes, bytes]]


def rate_limit_headers(
    requests: tuple[bytes, bytes, bytes],  # the limit, remaining and reset header names
    tokens: tuple[bytes, bytes, bytes],
    reset: Callable[[float], bytes],  # seconds until the reset -> the header's value
) -> Callable[[Grant], Headers]:
    def limit_headers(grant: Grant) -> Headers:
        limits = grant.key.limits
        headers: Headers = []
        admission = grant.admission
        if limits.rpm is not None and admission is not None and admission.requests_remaining is not None:
            headers += (
                (requests[0], b"%d" % limits.rpm),
                (requests[1], b"%d" % admission.requests_remaining),
                (requests[2], reset(admission.requests_reset)),
            )
        used = grant.tokens
        if limits.tpm is not None and used is not None:
            headers += (
                (tokens[0], b"%d" % limits.tpm),
                (tokens[1], b"%d" % used.remaining),
                (tokens[2], reset(used.reset)),
            )
        return headers

    return limit_headers
