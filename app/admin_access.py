"""Who may read the operator endpoints (``/admin/*``, ``/metrics``, ``/status``).

With ``auth.admin_keys`` configured, a request needs one of them as ``Authorization: Bearer``;
without any, these endpoints are open (as before keys existed). Keys are held as SHA-256
digests and compared in constant time; a key never reaches a log or a response.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler

from adapters.inbound.credentials import bearer_token
from domain.policy.keys import digest


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (as Litestar decodes it), or None."""
    return bearer_token(authorization.encode("latin-1")) if authorization else None


class AdminAccess:
    def __init__(self, keys: Iterable[str]) -> None:
        self.digests = tuple(digest(key) for key in keys if key)

    @property
    def open(self) -> bool:
        return not self.digests

    def allows(self, authorization: str | None) -> bool:
        if self.open:
            return True
        token = bearer(authorization)
        if token is None:
            return False
        wanted = digest(token)
        found = False
        for known in self.digests:  # every digest compared: no early exit to time
            found |= hmac.compare_digest(known, wanted)
        return found

    def guard(self, connection: ASGIConnection, _: BaseRouteHandler) -> None:  # type: ignore[type-arg]
        """A Litestar guard: 401 unless the request carries an admin key."""
        if not self.allows(connection.headers.get("authorization")):
            raise NotAuthorizedException(
                detail="this endpoint needs an admin key (auth.admin_keys) as 'Authorization: Bearer'",
                headers={"www-authenticate": "Bearer"},
            )


