"""Per-request plumbing shared by every frontdoor's hot routes, on raw ASGI.

The chat routes are Litestar ``asgi`` route handlers: Litestar routes them and renders their
exceptions with the router's exception handlers (so every error keeps its protocol's shape),
but builds no ``Request``/``Response`` objects for them. These helpers are what those objects
would have done: read a bounded body, answer bytes, find the request's record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from litestar.exceptions import MethodNotAllowedException
from litestar.types import Scope

from domain.errors import ErrorKind, GatewayError
from domain.request_record import RequestRecord

RECORD_KEY = "request_record"
JSON_HEADERS = [(b"content-type", b"application/json")]


def record_in(scope: Scope, app: str, frontdoor: str) -> RequestRecord:
    """The request's record (created by the access-log middleware), labelled."""
    state: dict[str, Any] | None = scope.get("state")
    if state is None:  # called without the middleware (unit tests)
        state = scope["state"] = {}
    record = state.get(RECORD_KEY)
    if record is None:
        record = state[RECORD_KEY] = RequestRecord()
    record.app, record.frontdoor = app, frontdoor
    return record


def model_filter(scope: Mapping[str, Any]) -> Callable[[str], bool] | None:
    """What the request's gateway key may use, for a model listing; None: every model."""
    state = scope.get("state")
    record: RequestRecord | None = state.get(RECORD_KEY) if state is not None else None
    grant = record.grant if record is not None else None
    if grant is None or grant.key.models is None:
        return None
    return grant.key.may_use_model


def require_post(scope: Mapping[str, Any]) -> None:
    if scope["method"] != "POST":
        detail = f"{scope['method']} is not allowed; use POST."
        raise MethodNotAllowedException(detail=detail, headers={"allow": "POST"})


async def read_body(scope: Mapping[str, Any], receive: Any, limit: int) -> bytes:
    """The whole request body; over ``limit`` bytes it is ``REQUEST_TOO_LARGE`` (checked on the
    announced length first, then on what actually arrives)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            if value.isdigit() and int(value) > limit:
                raise GatewayError(ErrorKind.REQUEST_TOO_LARGE, f"Request body is larger than {limit} bytes.")
            break
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise GatewayError(
                ErrorKind.INVALID_REQUEST, "The client went away before sending its request body."
            )
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise GatewayError(ErrorKind.REQUEST_TOO_LARGE, f"Request body is larger than {limit} bytes.")
            chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def header_values(scope: Mapping[str, Any], names: frozenset[bytes]) -> dict[str, str]:
    """The request headers among ``names`` (lower-case), as text; a header sent several times
    is joined with ``,`` (RFC 9110), so no repeated ``anthropic-beta`` value is lost."""
    found: dict[str, str] = {}
    for name, value in scope["headers"]:
        if name in names:
            key, text = name.decode(), value.decode("latin-1")
            found[key] = f"{found[key]},{text}" if key in found else text
    return found


async def send_body(
    send: Any, body: bytes, status: int = 200, headers: list[tuple[bytes, bytes]] = JSON_HEADERS
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
