"""Secrets out of upstream text, where that text enters the gateway.

An upstream may quote the credentials it received: OpenAI-compatible servers answer "Incorrect
API key provided: sk-proj-abc1********wxyz", proxies echo headers. ``Scrubber`` replaces with
``MASK``, in any text an upstream sent:

* a configured secret (every provider's ``api_key``, and the values of configured headers whose
  name says they carry a credential), wherever it appears;
* any prefix of 12 characters or more of such a secret, with the rest of the token it starts
  (the masked form above);
* well-known key shapes, configured or not: ``sk-...`` (OpenAI, Anthropic's ``sk-ant-...`` and
  many compatible servers), Groq's ``gsk_...``, xAI's ``xai-...``, Google's ``AIza...``, and
  the token after ``Bearer``.

Secrets shorter than ``MIN_SECRET`` characters are placeholders (``EMPTY``, ``ollama``) that
local servers ignore; masking them would garble ordinary words, so they are left alone.

Providers apply one scrubber, built once from the config, to every ``GatewayError`` that leaves
them (error answers, transport failures, unreadable bodies) and to every in-stream error event,
its relayed native frame included: nothing later can pass such text to a client or a log.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import msgspec

from domain.errors import GatewayError
from domain.ir import StreamError

MASK = "[redacted]"
MIN_SECRET = 8
MIN_PREFIX = 12

_SHAPES = re.compile(
    r"(?<![A-Za-z0-9_-])(?:sk-|gsk_|xai-)[A-Za-z0-9_*\-]{12,}"
    r"|(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_\-]{30,}"
    r"|(?P<scheme>\b[Bb][Ee][Aa][Rr][Ee][Rr]\s+)[^\s\"',;]+"
)
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-*")
_CREDENTIAL_HEADER = re.compile(r"auth|key|token|secret|password|credential", re.IGNORECASE)
_decode_any = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode


def _mask_shape(match: re.Match[str]) -> str:
    return (match.group("scheme") or "") + MASK


def header_secrets(headers: dict[str, str]) -> list[str]:
    """The values of headers whose name says they carry a credential (``api-key``,
    ``authorization``...), each also without its scheme (``Bearer``, ``Basic``)."""
    found: list[str] = []
    for name, value in headers.items():
        if _CREDENTIAL_HEADER.search(name):
            found.append(value)
            scheme, _, rest = value.partition(" ")
            if rest and scheme.isalpha():
                found.append(rest)
    return found


class Scrubber:
    __slots__ = ("_secrets",)

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        unique = {s.strip() for s in secrets if s and len(s.strip()) >= MIN_SECRET}
        self._secrets = sorted(unique, key=len, reverse=True)  # longest first: no half-masked key

    def text(self, text: str) -> str:
        for secret in self._secrets:
            if len(secret) >= MIN_PREFIX:
                text = _mask_prefixes(text, secret)
            elif secret in text:
                text = text.replace(secret, MASK)
        return _SHAPES.sub(_mask_shape, text)

    def optional(self, text: str | None) -> str | None:
        return None if text is None else self.text(text)

    def error(self, error: GatewayError) -> GatewayError:
        """``error`` itself, its message, code and param scrubbed."""
        error.message = self.text(error.message)
        error.args = (error.message,)
        error.code = self.optional(error.code)
        error.param = self.optional(error.param)
        return error

    def json(self, data: bytes) -> bytes:
        """A JSON document with every string in it scrubbed (escapes resolved first, so no
        ``\\u``-spelled key slips through); other bytes as scrubbed UTF-8 text."""
        try:
            document = _decode_any(data)
        except msgspec.DecodeError:
            return self.text(data.decode("utf-8", "replace")).encode()
        return _encode(self._walk(document))

    def stream_error(self, kind: str, message: str, native: bytes | None = None) -> StreamError:
        return StreamError(
            kind=kind, message=self.text(message), native=self.json(native) if native is not None else None
        )

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self._walk(item) for item in value]
        if isinstance(value, dict):
            return {self.text(key): self._walk(item) for key, item in value.items()}
        return value


def _mask_prefixes(text: str, secret: str) -> str:
    """``text`` with every run that starts with ``MIN_PREFIX`` characters of ``secret`` masked,
    up to the end of the token it starts (the rest of the secret, or a masked tail)."""
    head = secret[:MIN_PREFIX]
    start = text.find(head)
    if start < 0:
        return text
    parts: list[str] = []
    done = 0
    while start >= 0:
        end = start + MIN_PREFIX
        while end - start < len(secret) and end < len(text) and text[end] == secret[end - start]:
            end += 1
        while end < len(text) and text[end] in _TOKEN_CHARS:
            end += 1
        parts.append(text[done:start])
        parts.append(MASK)
        done = end
        start = text.find(head, end)
    parts.append(text[done:])
    return "".join(parts)


NO_SECRETS = Scrubber()
