"""``x-gateway-provider`` and ``x-gateway-model`` values: printable ASCII as it is, anything else
percent-encoded; remembered, within a bound."""

from __future__ import annotations

import pytest

from app import middleware
from app.middleware import header_text


@pytest.mark.parametrize(
    ("text", "value"),
    [("gpt-4o-mini", b"gpt-4o-mini"), ("a b/c:d", b"a b/c:d"), ("modèle", b"mod%C3%A8le"), ("x\r\ny", b"x%0D%0Ay"),
     ("", b"")],
)
def test_values_are_safe_in_a_response_head(text: str, value: bytes) -> None:
    assert header_text(text) == value
    assert header_text(text) == value  # remembered: the same again


def test_the_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(middleware, "_header_values", {})
    for n in range(middleware.HEADER_MEMO_LIMIT + 10):
        assert header_text(f"model-{n}") == f"model-{n}".encode()
    assert len(middleware._header_values) <= middleware.HEADER_MEMO_LIMIT
