"""Per-request context shared by every frontdoor: the exchange record and the body reader."""

from __future__ import annotations

from litestar import Request
from litestar.exceptions import HTTPException

from domain.errors import ErrorKind, GatewayError
from domain.exchange import Exchange

EXCHANGE_KEY = "exchange"


def exchange_of(request: Request, app: str, frontdoor: str) -> Exchange:
    """The request's exchange record (created by the access-log middleware), labelled."""
    exchange = request.scope["state"].get(EXCHANGE_KEY)
    if exchange is None:  # handler called without the middleware (unit tests)
        exchange = request.scope["state"][EXCHANGE_KEY] = Exchange()
    exchange.app, exchange.frontdoor = app, frontdoor
    return exchange


async def read_body(request: Request) -> bytes:
    """The raw body; an oversized one is a ``REQUEST_TOO_LARGE`` error in domain terms."""
    try:
        return await request.body()
    except HTTPException as exc:
        if exc.status_code == 413:
            raise GatewayError(ErrorKind.REQUEST_TOO_LARGE, "Request body is too large.") from None
        raise GatewayError(ErrorKind.INVALID_REQUEST, exc.detail) from None
