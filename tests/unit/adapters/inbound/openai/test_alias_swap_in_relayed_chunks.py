"""Relayed chunks of an aliased route get the alias by a byte replace, not a re-encode per
chunk; chunks whose model member is spelled differently still get it (by re-encoding)."""

from __future__ import annotations

import msgspec

from adapters.inbound.openai.stream import _ModelSwap
from tests.conftest import fixture_bytes


def _chunks() -> list[bytes]:
    frames = fixture_bytes("openai/stream_tool_calls_parallel.sse").split(b"\n\n")
    return [f[len(b"data: ") :] for f in frames if f.startswith(b"data: {")]


def test_every_chunk_reports_the_alias_and_nothing_else_changes() -> None:
    swap = _ModelSwap("claude-haiku-4.5")
    for chunk in _chunks():
        out = swap(chunk)
        original, relayed = msgspec.json.decode(chunk), msgspec.json.decode(out)
        assert relayed.pop("model") == "claude-haiku-4.5"
        original.pop("model")
        assert relayed == original


def test_a_differently_spelled_model_member_is_still_replaced() -> None:
    swap = _ModelSwap("alias")
    swap(b'{"id":"x","model":"gpt-4o","choices":[]}')
    out = swap(b'{"id":"x", "model": "gpt-4o", "choices":[]}')
    assert msgspec.json.decode(out)["model"] == "alias"
    assert swap(b'{"id":"x","choices":[]}') == b'{"id":"x","choices":[]}'  # no model: as it was
