"""OpenAI (and OpenAI-compatible) error bodies, read for the shared upstream error policy."""

from __future__ import annotations

import msgspec

from adapters.outbound.errors import ErrorDetail, kind_of_names
from adapters.protocols.openai.response import ErrorEnvelope, ErrorObject
from domain.errors import ErrorKind

_envelope = msgspec.json.Decoder(ErrorEnvelope)


def kind_of(error: ErrorObject) -> ErrorKind:
    """The kind of an error payload without a status (an error frame inside a stream)."""
    return kind_of_names(error.code, error.type)


def error_object(payload: ErrorObject | str | None, provider: str) -> ErrorObject:
    """Normalise an ``error`` member (an object, a bare string, or null)."""
    if isinstance(payload, ErrorObject):
        return payload
    if isinstance(payload, str) and payload:
        return ErrorObject(message=payload)
    return ErrorObject(message=f"Provider '{provider}' reported an error.")


def parse_error_body(body: bytes) -> ErrorDetail | None:
    """Message, code and param of an error body: OpenAI's envelope, or the shapes other
    OpenAI-compatible servers use (a bare ``error`` string, ``message``, FastAPI's ``detail``)."""
    try:
        envelope = _envelope.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    error = envelope.error
    if isinstance(error, ErrorObject):
        code = error.code if isinstance(error.code, str) else None
        return ErrorDetail(error.message or "", code=code, param=error.param)
    for text in (error, envelope.message, envelope.detail):
        if isinstance(text, str) and text:
            return ErrorDetail(text)
    return None

