"""What a frontdoor is, and what it is mounted with.

A ``Frontdoor`` is one client protocol: its chat endpoints (decoded, run and encoded by the
shared chat route, ``chat_route.py``), its other routes (model listings, token counting), and
its error shape. ``FRONTDOORS`` (``adapters/inbound/__init__.py``) names each one; an app of the
config mounts one at its path, with a ``Mount``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from litestar import Response, Router
from litestar.handlers import BaseRouteHandler

from adapters.inbound.chat_route import ChatEndpoint, InFlight, chat_route
from adapters.inbound.credentials import Headers
from adapters.inbound.handlers import exception_handlers
from adapters.inbound.policy_gate import policy_middleware
from adapters.state.conversations_memory import MemoryConversations
from domain.errors import GatewayError
from domain.policy import Grant, Policy
from domain.ports import ConversationStore
from domain.service import ChatService

DEFAULT_CONVERSATION_BYTES = 64 * 1024 * 1024
DEFAULT_CONVERSATION_TTL = 30 * 24 * 3600.0  # seconds


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
    # Stored conversation turns (the Responses API's ``previous_response_id``), kept ``ttl`` s.
    conversations: ConversationStore = field(
        default_factory=lambda: MemoryConversations(DEFAULT_CONVERSATION_BYTES)
    )
    conversation_ttl: float = DEFAULT_CONVERSATION_TTL
    policy: Policy | None = None  # auth.keys: every route of the app needs a key; None: open
    # The in-flight gauge's child for (frontdoor, stream): the chat routes move it.
    in_flight: InFlight | None = None


def _no_limit_headers(grant: Grant) -> list[tuple[bytes, bytes]]:
    return []


@dataclass(frozen=True, slots=True)
class Frontdoor:
    """One client protocol, mounted at the path of every app that names it."""

    # The chat endpoints of an app: built per mount, so an endpoint can use what the app has.
    endpoints: Callable[[Mount], Sequence[ChatEndpoint[Any]]]
    # Render an error in this protocol's shape (also for 404/405/413/500 outside its routes).
    error_response: Callable[[GatewayError], Response[bytes]]
    # Its other routes (model listings, token counting), built per mount.
    routes: Callable[[Mount], Sequence[BaseRouteHandler]] = lambda mount: ()
    # Where its SDKs expect their base_url, relative to the app's path (named in 404 messages).
    sdk_base_url: str = "{path}"
    # Where its SDKs send the client's key (the raw request headers -> the key, or None).
    credential: Callable[[Headers], str | None] = lambda headers: None
    # The protocol's rate-limit headers for a key with limits.
    limit_headers: Callable[[Grant], list[tuple[bytes, bytes]]] = _no_limit_headers

    def router(self, mount: Mount) -> Router:
        service, name, limit = mount.service, mount.name, mount.max_body_bytes
        endpoints = self.endpoints(mount)
        handlers = [chat_route(service, name, limit, endpoint, mount.in_flight) for endpoint in endpoints]
        middleware = []
        if mount.policy is not None:  # at the router: every route of the app, present and future
            protocol = endpoints[0].protocol if endpoints else name
            gate = policy_middleware(mount.policy, name, protocol, self.credential, self.limit_headers)
            middleware.append(gate)
        return Router(
            path=mount.path,
            route_handlers=[*handlers, *self.routes(mount)],
            exception_handlers=exception_handlers(self.error_response),
            middleware=middleware,
        )
