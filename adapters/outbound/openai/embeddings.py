"""Embeddings on an OpenAI-protocol upstream: the client's body to ``{base_url}/embeddings``
with only the model replaced; the answer relayed as it came, its usage read."""

from __future__ import annotations

from typing import Any

import msgspec

from domain.errors import ErrorKind, GatewayError
from domain.ir import EmbeddingRequest, EmbeddingResponse, Usage

_encode = msgspec.json.Encoder().encode


class _Usage(msgspec.Struct):
    prompt_tokens: int | None = None


class _Head(msgspec.Struct):
    usage: _Usage | None = None


_head = msgspec.json.Decoder(_Head)


def build_body(request: EmbeddingRequest, model: str, settings: Any) -> bytes:
    fields = dict(request.fields)
    fields["model"] = msgspec.Raw(_encode(model))
    return _encode(fields)


def parse_embeddings(body: bytes) -> EmbeddingResponse:
    try:
        head = _head.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        unreadable = f"Upstream sent an unreadable embeddings answer: {exc}"
        raise GatewayError(ErrorKind.PROTOCOL, unreadable) from None
    tokens = head.usage.prompt_tokens if head.usage is not None else None
    usage = Usage(input_tokens=tokens) if isinstance(tokens, int) else Usage()
    return EmbeddingResponse(body=body, usage=usage)
