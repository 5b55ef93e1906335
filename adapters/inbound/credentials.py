"""Where each protocol's SDKs send the client's key, read from the raw ASGI headers."""

from __future__ import annotations

from collections.abc import Iterable

Headers = Iterable[tuple[bytes, bytes]]


def bearer_token(authorization: bytes) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header's value, or None."""
    scheme, _, token = authorization.strip().partition(b" ")
    if scheme.lower() != b"bearer":
        return None
    return token.strip().decode("latin-1") or None


def bearer(headers: Headers) -> str | None:
    """``Authorization: Bearer <key>`` (OpenAI's SDKs)."""
    for name, value in headers:
        if name == b"authorization":
            return bearer_token(value)
    return None


def api_key_or_bearer(headers: Headers) -> str | None:
    """``x-api-key`` (Anthropic's SDKs), else ``Authorization: Bearer`` (Claude Code's
    ``ANTHROPIC_AUTH_TOKEN``)."""
    found = None
    for name, value in headers:
        if name == b"x-api-key":
            return value.strip().decode("latin-1") or None
        if name == b"authorization":
            found = bearer_token(value)
    return found
