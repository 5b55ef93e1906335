"""The top-level ``model`` of a JSON body, replaced without touching the other members."""

from __future__ import annotations

import msgspec

_encode = msgspec.json.Encoder().encode
_decode_fields = msgspec.json.Decoder(dict[str, msgspec.Raw]).decode


def replace_model(body: bytes, model: str) -> bytes:
    """``body`` (a JSON object) with its top-level ``model`` set to ``model``; every other member
    is kept byte for byte. A body without a ``model`` member is returned as it is."""
    fields = _decode_fields(body)
    if "model" not in fields:
        return body
    fields["model"] = msgspec.Raw(_encode(model))
    return _encode(fields)
