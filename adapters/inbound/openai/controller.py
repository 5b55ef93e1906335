"""The OpenAI frontdoor's endpoints: chat completions (on the shared chat route, the body
decoded by ``to_ir`` so that malformed input gets OpenAI's error shape), the Responses API
(``openai_responses/controller.py``: its endpoint on the same route, and its stored turns) and
the model listing, and embeddings (``embeddings.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.handlers import BaseRouteHandler

from adapters.inbound.chat_route import ChatEndpoint
from adapters.inbound.context import model_filter
from adapters.inbound.frontdoor import Mount
from adapters.inbound.openai.decode import to_ir
from adapters.inbound.openai.embeddings import embeddings_route
from adapters.inbound.openai.encode import from_ir
from adapters.inbound.openai.stream import encode_stream
from adapters.inbound.openai_responses import controller as responses
from domain.errors import ErrorKind, GatewayError
from domain.ir import ChatRequest, ChatResponse
from domain.request_record import RequestRecord

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


def _decode(body: bytes, headers: Mapping[str, str]) -> ChatRequest:
    return to_ir(body)


def _encode_response(response: ChatResponse, request: ChatRequest, record: RequestRecord) -> bytes:
    return from_ir(response, record)


CHAT_COMPLETIONS = ChatEndpoint(
    path="/v1/chat/completions",
    protocol="openai",
    decode=_decode,
    encode=_encode_response,
    encode_stream=encode_stream,
)


def _turns(mount: Mount) -> responses.Turns:
    return responses.Turns(mount.conversations, mount.conversation_ttl)


def endpoints(mount: Mount) -> tuple[ChatEndpoint[Any], ...]:
    return (CHAT_COMPLETIONS, responses.endpoint(_turns(mount)))


def routes(mount: Mount) -> list[BaseRouteHandler]:
    """The model listing and lookup, and the stored responses (ordinary handlers: they are not
    on the hot path)."""
    entries = model_entries(mount.models)
    listing = _encode({"object": "list", "data": entries})
    by_id = {entry["id"]: _encode(entry) for entry in entries}

    @get("/v1/models")
    async def list_models(request: Request[Any, Any, Any]) -> Response[bytes]:
        allowed = model_filter(request.scope)
        if allowed is None:
            return Response(listing, media_type=JSON)
        permitted = [entry for entry in entries if allowed(entry["id"])]  # what the key may use
        return Response(_encode({"object": "list", "data": permitted}), media_type=JSON)

    @get("/v1/models/{model_id:path}")
    async def retrieve_model(request: Request[Any, Any, Any]) -> Response[bytes]:
        # ``path``: model ids may hold a slash ("openai/gpt-4o"); Litestar keeps the leading one.
        model_id = request.path_params["model_id"].lstrip("/")
        entry = by_id.get(model_id)
        allowed = model_filter(request.scope)
        if entry is None or (allowed is not None and not allowed(model_id)):
            raise GatewayError(
                ErrorKind.NOT_FOUND,
                f"The model '{model_id}' does not exist",
                param="model",
                code="model_not_found",
            )
        return Response(entry, media_type=JSON)

    embeddings = embeddings_route(mount.service, mount.name, mount.max_body_bytes)
    return [list_models, retrieve_model, embeddings, *responses.routes(_turns(mount))]
