"""Where each frontdoor reads the client's key, and how it writes its rate-limit resets."""

from __future__ import annotations

import pytest

from adapters.inbound.anthropic.policy import credential as anthropic_credential
from adapters.inbound.anthropic.policy import moment
from adapters.inbound.openai.policy import credential as openai_credential
from adapters.inbound.openai.policy import duration


@pytest.mark.parametrize(
    ("headers", "key"),
    [
        ([(b"authorization", b"Bearer sk-abc")], "sk-abc"),
        ([(b"authorization", b"bearer   sk-abc  ")], "sk-abc"),
        ([(b"authorization", b"Basic sk-abc")], None),
        ([(b"authorization", b"Bearer")], None),
        ([(b"x-api-key", b"sk-abc")], None),
        ([], None),
    ],
)
def test_openai_reads_a_bearer_token(headers: list[tuple[bytes, bytes]], key: str | None) -> None:
    assert openai_credential(headers) == key


@pytest.mark.parametrize(
    ("headers", "key"),
    [
        ([(b"x-api-key", b"sk-ant")], "sk-ant"),
        ([(b"authorization", b"Bearer sk-token")], "sk-token"),
        ([(b"authorization", b"Bearer sk-token"), (b"x-api-key", b"sk-ant")], "sk-ant"),  # x-api-key wins
        ([(b"x-api-key", b"")], None),
        ([], None),
    ],
)
def test_anthropic_reads_x_api_key_then_a_bearer_token(headers: list[tuple[bytes, bytes]], key: str | None) -> None:
    assert anthropic_credential(headers) == key


@pytest.mark.parametrize(("seconds", "text"), [(0.25, b"250ms"), (12.54, b"12.5s"), (59.0, b"59s"), (60.0, b"1m0s"), (95.4, b"1m35s")])
def test_openai_resets_are_durations(seconds: float, text: bytes) -> None:
    assert duration(seconds) == text


def test_anthropic_resets_are_rfc3339_times() -> None:
    text = moment(30).decode()
    assert len(text) == 20 and text[4] == "-" and text[10] == "T" and text.endswith("Z")
