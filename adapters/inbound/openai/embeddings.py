"""``POST /v1/embeddings`` on an OpenAI frontdoor: routed like chat (aliases, pools, retries,
failover), relayed to the provider as the client sent it (the model replaced) and answered with
the upstream's body (the model shown as the route's alias when it has one). A route to a
provider whose API has no embeddings (Anthropic) is a 400 saying so.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec
from litestar.handlers import asgi
from litestar.handlers.asgi_handlers import ASGIRouteHandler
from litestar.types import Receive, Scope, Send

from adapters.inbound.chat_route import read_call
from adapters.inbound.context import send_body
from adapters.protocols.model_field import replace_model
from domain.errors import invalid_request
from domain.ir import EmbeddingRequest
from domain.service import ChatService

PATH = "/v1/embeddings"
_fields = msgspec.json.Decoder(dict[str, msgspec.Raw])
_model = msgspec.json.Decoder(str)


def decode(body: bytes, headers: Mapping[str, str]) -> EmbeddingRequest:
    try:
        fields = _fields.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        unparsable = "We could not parse the JSON body of your request: send a JSON object."
        raise invalid_request(unparsable) from None
    for name in ("model", "input"):
        if name not in fields or fields[name] == b"null":
            raise invalid_request(f"Missing required parameter: '{name}'.", param=name)
    try:
        model = _model.decode(fields["model"])
    except msgspec.ValidationError:
        raise invalid_request("Invalid type for 'model': expected a string.", param="model") from None
    return EmbeddingRequest(model=model, fields=fields)


def embeddings_route(service: ChatService, app: str, max_body_bytes: int) -> ASGIRouteHandler:
    @asgi(PATH, is_mount=False, copy_scope=False)
    async def embeddings(scope: Scope, receive: Receive, send: Send) -> None:
        record, request = await read_call(scope, receive, app, "openai", max_body_bytes, decode)
        response = await service.embed(request, record)
        body = replace_model(response.body, record.alias) if record.alias else response.body
        await send_body(send, body)

    return embeddings
