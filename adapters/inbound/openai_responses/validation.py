"""Client errors of the Responses codec, naming the parameter as OpenAI does (``input[2].role``)."""

from __future__ import annotations

from typing import Any

import msgspec

from domain.errors import GatewayError, invalid_request


def param_of(message: str) -> str | None:
    """The parameter a msgspec validation message points at, in OpenAI's notation."""
    path = ""
    head, sep, tail = message.rpartition(" - at `$")
    if sep:
        path = tail.rstrip("`")
    missing = (head if sep else message).partition("missing required field `")[2].rstrip("`")
    if missing:
        path = f"{path}.{missing}"
    return path.lstrip(".") or None


def validation_error(exc: msgspec.ValidationError, prefix: str = "") -> GatewayError:
    """A 400 for ``exc``; ``prefix`` is where the value decoded on its own sits in the body."""
    message = str(exc)
    if prefix:
        message = message.replace("`$", f"`$.{prefix}")
        if " - at `$" not in message:
            message = f"{message} - at `$.{prefix}`"
    return invalid_request(message, param=param_of(message))


def decode_at(decoder: msgspec.json.Decoder[Any], raw: bytes, path: str) -> Any:
    """``raw`` (a part of the body at ``path``) decoded; a mismatch is a 400 naming ``path``."""
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise validation_error(exc, path) from None


def missing(path: str) -> GatewayError:
    return invalid_request(f"Missing required parameter: '{path}'.", param=path)
