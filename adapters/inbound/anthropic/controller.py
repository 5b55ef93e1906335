"""The Anthropic frontdoor's endpoints, mounted at an app's path.

``POST /v1/messages`` (on the shared chat route), ``POST /v1/messages/count_tokens``,
``GET /v1/models`` and ``GET /v1/models/{model_id}``. Bodies are decoded by this frontdoor's
``decode`` so that bad input gets Anthropic's error shape; every error goes through
``errors.error_response``.
The model listing is Anthropic's page shape (``data``, ``has_more``, ``first_id``,
``last_id``) with its ``limit`` (default 20), ``after_id`` and ``before_id`` cursors; entries
missing ``type``, ``display_name`` or ``created_at`` get ``"model"``, the id, and the
``created`` timestamp of an OpenAI-shaped seed or the epoch (as Anthropic does for unknown
release dates).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.handlers import BaseRouteHandler, asgi
from litestar.types import Receive, Scope, Send

from adapters.inbound.anthropic.decode import count_tokens_to_ir, to_ir
from adapters.inbound.anthropic.encode import from_ir
from adapters.inbound.anthropic.stream import encode_stream
from adapters.inbound.chat_route import ChatEndpoint, read_call
from adapters.inbound.context import model_filter, send_body
from adapters.inbound.frontdoor import Mount
from domain.errors import ErrorKind, GatewayError, invalid_request
from domain.ir import ChatRequest, ChatResponse
from domain.request_record import RequestRecord

# Client headers an Anthropic upstream must see unchanged (Claude Code's gateway contract).
PASSTHROUGH = frozenset((b"anthropic-version", b"anthropic-beta"))

_encode = msgspec.json.Encoder().encode
_EPOCH = "1970-01-01T00:00:00Z"
_JSON = "application/json"


def _model_entry(seed: dict[str, Any]) -> dict[str, Any]:
    entry = {"type": "model", "id": seed["id"]}
    entry["display_name"] = seed.get("display_name") or seed["id"]
    created_at = seed.get("created_at")
    if created_at is None:
        created = seed.get("created")
        if isinstance(created, int) and created > 0:
            created_at = datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        else:
            created_at = _EPOCH
    entry["created_at"] = created_at
    for key, value in seed.items():  # keep what the config says beyond the required fields
        if key not in entry and key not in ("object", "created", "owned_by"):
            entry[key] = value
    return entry


def _page(models: list[dict[str, Any]], query: Any) -> bytes:
    """One page of the listing, following Anthropic's cursor rules."""
    try:
        limit = int(query.get("limit", 20))
    except ValueError:
        raise invalid_request("limit: Input should be a valid integer", param="limit") from None
    if not 1 <= limit <= 1000:
        raise invalid_request("limit: Input should be between 1 and 1000", param="limit")
    ids = [m["id"] for m in models]
    after, before = query.get("after_id"), query.get("before_id")
    if before is not None:
        end = ids.index(before) if before in ids else len(ids)
        start = max(end - limit, 0)
        has_more = start > 0
    else:
        start = ids.index(after) + 1 if after in ids else 0
        end = min(start + limit, len(ids))
        has_more = end < len(ids)
    data = models[start:end]
    return _encode(
        {
            "data": data,
            "has_more": has_more,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        }
    )


def _encode_response(response: ChatResponse, request: ChatRequest, record: RequestRecord) -> bytes:
    return from_ir(response, record)


MESSAGES = ChatEndpoint(
    path="/v1/messages",
    protocol="anthropic",
    decode=to_ir,
    encode=_encode_response,
    encode_stream=encode_stream,
    headers=PASSTHROUGH,
)


def endpoints(mount: Mount) -> tuple[ChatEndpoint[Any], ...]:
    return (MESSAGES,)


def routes(mount: Mount) -> list[BaseRouteHandler]:
    """Token counting (raw ASGI, like the chat route), and the model listing and lookup."""
    service, name, limit = mount.service, mount.name, mount.max_body_bytes
    models = [_model_entry(seed) for seed in mount.models]
    by_id = {entry["id"]: _encode(entry) for entry in models}

    @asgi("/v1/messages/count_tokens", is_mount=False, copy_scope=False)
    async def count_tokens(scope: Scope, receive: Receive, send: Send) -> None:
        record, request = await read_call(
            scope, receive, name, "anthropic", limit, count_tokens_to_ir, PASSTHROUGH
        )
        count = await service.count_tokens(request, record)
        await send_body(send, _encode({"input_tokens": count}))

    @get("/v1/models")
    async def list_models(request: Request[Any, Any, Any]) -> Response[bytes]:
        allowed = model_filter(request.scope)
        listed = models if allowed is None else [entry for entry in models if allowed(entry["id"])]
        return Response(_page(listed, request.query_params), media_type=_JSON)

    @get("/v1/models/{model_id:str}")
    async def get_model(request: Request[Any, Any, Any]) -> Response[bytes]:
        model_id = request.path_params["model_id"]
        entry = by_id.get(model_id)
        allowed = model_filter(request.scope)
        if entry is None or (allowed is not None and not allowed(model_id)):
            raise GatewayError(ErrorKind.NOT_FOUND, f"model: {model_id}", status=404)
        return Response(entry, media_type=_JSON)

    return [count_tokens, list_models, get_model]
