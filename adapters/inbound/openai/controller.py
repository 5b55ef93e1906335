"""The OpenAI frontdoor's routes: chat completions and the model listing.

The chat route is a raw ASGI route handler (the hot path: Litestar routes it and renders its
errors, but builds no request or response objects); the body is decoded by ``to_ir``, so
malformed input gets OpenAI's error shape. The listings are ordinary handlers.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, Router, get
from litestar.handlers import asgi
from litestar.types import Receive, Scope, Send

from adapters.inbound import Mount
from adapters.inbound.context import read_body, record_in, require_post, send_body
from adapters.inbound.handlers import exception_handlers
from adapters.inbound.openai.decode import to_ir
from adapters.inbound.openai.encode import from_ir
from adapters.inbound.openai.errors import error_response
from adapters.inbound.openai.stream import encode_stream
from adapters.inbound.streaming import send_sse
from domain.errors import ErrorKind, GatewayError
from domain.offload import is_large_body, off_loop

_encode = msgspec.json.Encoder().encode
JSON = "application/json"
MODEL_CREATED = 0  # the listing's ``created`` for entries that do not set one
MODEL_OWNER = "gateway"


def model_entries(models: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    """The listing entries, OpenAI's required fields filled where config left them out."""
    return [
        {
            "id": entry.get("id", ""),
            "object": "model",
            "created": MODEL_CREATED,
            "owned_by": MODEL_OWNER,
            **entry,
        }
        for entry in models
    ]


def build_router(mount: Mount) -> Router:
    entries = model_entries(mount.models)
    listing = _encode({"object": "list", "data": entries})
    by_id = {entry["id"]: _encode(entry) for entry in entries}
    service = mount.service

    @asgi("/v1/chat/completions", is_mount=False, copy_scope=False)
    async def chat_completions(scope: Scope, receive: Receive, send: Send) -> None:
        record = record_in(scope, mount.name, "openai")
        require_post(scope)
        body = await read_body(scope, receive, mount.max_body_bytes)
        ir = await off_loop(to_ir, body) if is_large_body(len(body)) else to_ir(body)
        record.stream = ir.stream
        if ir.stream:
            events = await service.stream(ir, record)
            await send_sse(send, encode_stream(events, ir, record))
            return
        response = await service.complete(ir, record)
        await send_body(send, from_ir(response, record))

    @get("/v1/models")
    async def list_models(request: Request[Any, Any, Any]) -> Response[bytes]:
        return Response(listing, media_type=JSON)

    @get("/v1/models/{model_id:path}")
    async def retrieve_model(request: Request[Any, Any, Any]) -> Response[bytes]:
        # ``path``: model ids may hold a slash ("openai/gpt-4o"); Litestar keeps the leading one.
        model_id = request.path_params["model_id"].lstrip("/")
        entry = by_id.get(model_id)
        if entry is None:
            raise GatewayError(
                ErrorKind.NOT_FOUND,
                f"The model '{model_id}' does not exist",
                param="model",
                code="model_not_found",
            )
        return Response(entry, media_type=JSON)

    return Router(
        path=mount.path,
        route_handlers=[chat_completions, list_models, retrieve_model],
        exception_handlers=exception_handlers(error_response),  # type: ignore[arg-type]
    )
