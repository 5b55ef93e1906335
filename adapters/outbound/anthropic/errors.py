"""Anthropic error bodies, read for the shared upstream error policy.

The body is ``{"type": "error", "error": {"type", "message"}}``; the error ``type`` travels as
the ``GatewayError``'s ``code`` so that an Anthropic frontdoor can keep types no kind names
(``billing_error``).
"""

from __future__ import annotations

import msgspec

from adapters.outbound.errors import ErrorDetail, kind_of_names
from adapters.protocols.anthropic.response import ErrorBody
from domain.errors import ErrorKind

_decode_error = msgspec.json.Decoder(ErrorBody).decode


def kind_of_type(error_type: str) -> ErrorKind:
    """The kind of an error ``type`` without a status (an ``error`` event of a stream)."""
    return kind_of_names(error_type)


def parse_error_body(body: bytes) -> ErrorDetail | None:
    try:
        error = _decode_error(body).error
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return ErrorDetail(error.message, code=error.type)

