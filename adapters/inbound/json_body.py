"""What every frontdoor checks in a request body before decoding it, and how it words what
msgspec could not read.

``check_body`` refuses, with ``INVALID_REQUEST``, a body that is not UTF-8 (msgspec checks the
strings it decodes, not those it keeps as raw JSON, and an upstream must never get invalid
text) and a body whose arrays and objects nest deeper than ``MAX_DEPTH`` (see
``domain.ir.json_depth``). ``decode_problem`` turns a msgspec ``DecodeError`` into words a
client can act on (msgspec reports a lone surrogate escape, or an empty body, as "Input data
was truncated").
"""

from __future__ import annotations

import codecs
import re

import msgspec

from domain.errors import ErrorKind, GatewayError
from domain.ir.json_depth import MAX_DEPTH, nests_deeper

_CHUNK = 1 << 20  # a larger body is checked for UTF-8 a chunk at a time
_LONE_SURROGATE = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


def check_body(body: bytes) -> None:
    """Raise ``INVALID_REQUEST`` for a body that is not UTF-8 or nests too deeply."""
    if not body.isascii():
        offset = _invalid_utf8_at(body)
        if offset is not None:
            raise GatewayError(
                ErrorKind.INVALID_REQUEST,
                f"The request body is not valid UTF-8 (byte {offset} cannot start or continue a "
                "character); JSON text must be encoded as UTF-8.",
            )
    if nests_deeper(body, MAX_DEPTH):
        raise GatewayError(
            ErrorKind.INVALID_REQUEST,
            f"The request body nests arrays and objects more than {MAX_DEPTH} levels deep.",
        )


def decode_problem(exc: msgspec.DecodeError, body: bytes) -> str:
    """What is wrong with a body msgspec could not decode, in words for the client."""
    text = str(exc)
    if text == "Input data was truncated":  # msgspec says so for more than a cut-off body
        if not body.strip():
            return "the body is empty"
        if _LONE_SURROGATE.search(body):
            return "a \\u escape is a lone UTF-16 surrogate (\\ud800-\\udfff come in pairs)"
        return "the JSON text ends before it is complete"
    return text


def _invalid_utf8_at(body: bytes) -> int | None:
    """The offset of the first byte that breaks UTF-8, or None (a large body is decoded a
    chunk at a time, so the check never holds a copy of it as text)."""
    if len(body) <= _CHUNK:
        try:
            body.decode()
        except UnicodeDecodeError as exc:
            return exc.start
        return None
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(body)
    for start in range(0, len(body), _CHUNK):
        try:
            decoder.decode(view[start : start + _CHUNK], final=start + _CHUNK >= len(body))
        except UnicodeDecodeError as exc:
            return max(start + exc.start - len(decoder.getstate()[0]), 0)
    return None
