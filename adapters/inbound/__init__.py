"""Frontdoors: one folder per client protocol, one line per protocol in ``FRONTDOORS``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from litestar import Response, Router

from domain.errors import GatewayError
from domain.service import ChatService


@dataclass(frozen=True, slots=True)
class Mount:
    """One configured app: a frontdoor at ``path`` over its own routing."""

    name: str
    path: str  # e.g. "/openai"; routes are mounted below it ("/openai/v1/chat/completions")
    service: ChatService
    # The /v1/models listing: config seeds (protocol-shaped dicts) plus routed aliases
    # ({"id": ...}); the frontdoor fills its protocol's required fields where missing.
    models: tuple[dict[str, Any], ...] = field(default=())
    max_body_bytes: int = 32 * 1024 * 1024  # larger request bodies are refused with 413


@dataclass(frozen=True, slots=True)
class Frontdoor:
    build_router: Callable[[Mount], Router]
    # Render an error in this protocol's shape (used for 404/405/413/500 outside handlers too).
    error_response: Callable[[GatewayError], Response[bytes]]


def _openai() -> Frontdoor:
    from adapters.inbound.openai.controller import build_router
    from adapters.inbound.openai.errors import error_response

    return Frontdoor(build_router, error_response)


def _anthropic() -> Frontdoor:
    from adapters.inbound.anthropic.controller import build_router
    from adapters.inbound.anthropic.errors import error_response

    return Frontdoor(build_router, error_response)


FRONTDOORS: dict[str, Callable[[], Frontdoor]] = {
    "openai": _openai,
    "anthropic": _anthropic,
}
