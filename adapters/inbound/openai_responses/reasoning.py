"""Reasoning items <-> IR thinking blocks, so reasoning survives a client's round trip.

A Responses client keeps the reasoning items of a turn and sends them back in the next turn's
``input`` (Codex does so with ``store: false``). Their ``encrypted_content`` is state only the
producing provider can read. The gateway writes its own there, ``gateway.v1.`` + base64url of
a small JSON object naming the protocol that produced the reasoning and carrying what that
protocol needs to accept it again:

- an Anthropic ``thinking`` block: its text and signature (both: Anthropic verifies the
  signature against the exact text, so the text must not depend on the client keeping the
  summary as it was);
- an Anthropic ``redacted_thinking`` block: its data.

Reading it back gives the same IR block, so a multi-turn session on an Anthropic upstream keeps
its thinking. Reasoning goes back only to the protocol that produced it: the Anthropic provider
replays signed thinking, the Chat Completions provider drops every thinking block. Content of
another protocol is never turned into a signed block: a ``gateway.v1.`` item made by another
protocol, and an ``encrypted_content`` the gateway did not write (OpenAI's own), become
unsigned thinking with the item's readable text, which every provider drops rather than
forwards. Reasoning without state (an OpenAI-compatible server's reasoning text) is a reasoning
item with a summary and no ``encrypted_content``.
"""

from __future__ import annotations

import base64
import binascii

import msgspec

from adapters.inbound.openai_responses.validation import decode_at
from adapters.protocols.openai.responses import request as wire
from domain.errors import invalid_request
from domain.ir import AnyBlock, RedactedThinkingBlock, ThinkingBlock

PREFIX = "gateway.v1."
_PRODUCER_WITH_SIGNATURES = "anthropic"


class _Sealed(msgspec.Struct, kw_only=True, omit_defaults=True):
    p: str  # the protocol that produced the reasoning
    t: str | None = None  # thinking text
    s: str | None = None  # its signature
    r: str | None = None  # redacted thinking data


_encode = msgspec.json.Encoder().encode
_sealed = msgspec.json.Decoder(_Sealed)
_part = msgspec.json.Decoder(wire.Part)


def seal(block: ThinkingBlock | RedactedThinkingBlock, protocol: str | None) -> str | None:
    """The ``encrypted_content`` for a block of a response the ``protocol`` upstream produced;
    None when the block carries no state (unsigned thinking)."""
    if isinstance(block, RedactedThinkingBlock):
        sealed = _Sealed(p=protocol or "", r=block.data)
    elif block.signature:
        sealed = _Sealed(p=protocol or "", t=block.thinking, s=block.signature)
    else:
        return None
    return PREFIX + base64.urlsafe_b64encode(_encode(sealed)).decode()


def unseal(item: wire.InputItem, path: str) -> list[AnyBlock]:
    """The IR blocks of one input ``reasoning`` item (none when it has neither state nor text)."""
    state = item.encrypted_content
    if isinstance(state, str) and state.startswith(PREFIX):
        sealed = _read(state, f"{path}.encrypted_content")
        if sealed.p == _PRODUCER_WITH_SIGNATURES:
            if sealed.r is not None:
                return [RedactedThinkingBlock(data=sealed.r)]
            if sealed.t is not None and sealed.s:
                return [ThinkingBlock(thinking=sealed.t, signature=sealed.s)]
        text = sealed.t or ""
    else:
        text = _text(item, path)
    return [ThinkingBlock(thinking=text)] if text else []


def _read(state: str, path: str) -> _Sealed:
    try:
        data = base64.urlsafe_b64decode(state[len(PREFIX) :])
        return _sealed.decode(data)
    except (binascii.Error, ValueError, msgspec.DecodeError, msgspec.ValidationError):
        raise invalid_request(
            "The encrypted content of this reasoning item is not valid; send reasoning items back "
            "exactly as they were received.",
            param=path,
        ) from None


def _text(item: wire.InputItem, path: str) -> str:
    """The readable text of a reasoning item: its raw reasoning text when present (open-weight
    models return it), else its summary."""
    if isinstance(item.content, list) and item.content:
        parts = [decode_at(_part, raw, f"{path}.content[{k}]") for k, raw in enumerate(item.content)]
        texts = [part.text for part in parts if isinstance(part.text, str)]
        if texts:
            return "".join(texts)
    return "\n\n".join(part.text for part in item.summary or () if part.text)
