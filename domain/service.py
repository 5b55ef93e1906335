"""ChatService: resolve a request's route and run it on a provider.

Streams are peeked: the first event is pulled before the frontdoor commits to a 200, so an
error before it is an ordinary HTTP error (and, later, a reason to try the next target); a
failure after it becomes a ``StreamError`` event that the frontdoor encodes in its protocol.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import aclosing

from domain.errors import ErrorKind, GatewayError
from domain.exchange import Exchange
from domain.ir import AnyEvent, ChatRequest, ChatResponse, MessageDelta, MessageStart, StreamError
from domain.ports import ChatProvider
from domain.routing import Route, RoutingTable, Target, resolve


class ChatService:
    """The chat use case for one app: its routing table over the shared providers."""

    def __init__(self, table: RoutingTable, providers: Mapping[str, ChatProvider]) -> None:
        self._table = table
        self._providers = providers

    def route(self, model: str) -> Route:
        return resolve(self._table, model)

    def _target(self, request: ChatRequest, exchange: Exchange) -> tuple[ChatProvider, Target]:
        route = self.route(request.model)
        target = route.primary
        provider = self._providers.get(target.provider)
        if provider is None:  # config validation makes this unreachable; keep the error clear
            raise GatewayError(
                ErrorKind.CONFIGURATION, f"Route '{route.rule}' names unknown provider '{target.provider}'."
            )
        exchange.model = request.model
        exchange.alias = route.alias
        exchange.provider = provider.name
        exchange.upstream_model = target.model
        exchange.upstream_protocol = provider.protocol
        exchange.attempts += 1
        return provider, target

    async def complete(self, request: ChatRequest, exchange: Exchange) -> ChatResponse:
        provider, target = self._target(request, exchange)
        response = await provider.complete(request, target.model)
        exchange.record_usage(response.usage)
        return response

    async def stream(self, request: ChatRequest, exchange: Exchange) -> AsyncIterator[AnyEvent]:
        """Open the stream and pull its first event; errors up to that point are raised."""
        provider, target = self._target(request, exchange)
        events = provider.stream(request, target.model)
        try:
            first = await anext(events)
        except StopAsyncIteration:
            await events.aclose()  # type: ignore[attr-defined]
            raise GatewayError(ErrorKind.PROTOCOL, f"Provider '{provider.name}' sent an empty stream.") from None
        except BaseException:
            await events.aclose()  # type: ignore[attr-defined]
            raise
        return _continue(first, events, exchange)

    async def count_tokens(self, request: ChatRequest, exchange: Exchange) -> int:
        provider, target = self._target(request, exchange)
        return await provider.count_tokens(request, target.model)


async def _continue(
    first: AnyEvent, rest: AsyncIterator[AnyEvent], exchange: Exchange
) -> AsyncIterator[AnyEvent]:
    """Yield ``first`` then the rest; a failure after the first event becomes ``StreamError``.

    Usage seen on the way is recorded on the exchange for the access log.
    """
    async with aclosing(rest):  # type: ignore[type-var]
        if isinstance(first, MessageStart):
            exchange.record_usage(first.usage)
        yield first
        try:
            async for event in rest:
                if isinstance(event, MessageDelta):
                    exchange.record_usage(event.usage)
                yield event
        except GatewayError as exc:
            yield StreamError(kind=exc.kind.value, message=exc.message)
        except Exception as exc:  # noqa: BLE001 - a bug must still end the stream cleanly
            yield StreamError(kind=ErrorKind.INTERNAL.value, message=f"Internal error: {type(exc).__name__}")
