"""A large request is decoded and translated off the event loop, to the same upstream body."""

from __future__ import annotations

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from domain import offload
from tests.conftest import fixture_bytes
from tests.integration.conftest import ANTHROPIC_URL
from tests.integration.upstream import UpstreamMock

TURNS = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i}"} for i in range(401)]


async def translated(gateway: AsyncTestClient, scripted: UpstreamMock, path: str, body: dict) -> bytes:
    scripted.add_response(url=ANTHROPIC_URL, content=fixture_bytes("anthropic/message_text.json"))
    response = await gateway.post(path, json=body)
    assert response.status_code == 200, response.text
    return scripted.get_requests()[-1].content


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/openai/v1/chat/completions", {"model": "sonnet-on-anthropic", "messages": TURNS}),
        ("/anthropic/v1/messages", {"model": "claude-x", "max_tokens": 9, "messages": TURNS}),
    ],
    ids=["openai-to-anthropic", "anthropic-native"],
)
async def test_a_large_request_reaches_the_upstream_as_a_usual_one_does(
    gateway: AsyncTestClient, scripted: UpstreamMock, monkeypatch: pytest.MonkeyPatch, path: str, body: dict
) -> None:
    usual = await translated(gateway, scripted, path, body)
    heavy: list[str] = []
    real = offload._paused

    def paused(work, args, kwargs):  # type: ignore[no-untyped-def]
        heavy.append(getattr(work, "__name__", ""))
        return real(work, args, kwargs)

    monkeypatch.setattr(offload, "LARGE_BYTES", 1024)
    monkeypatch.setattr(offload, "_paused", paused)
    assert await translated(gateway, scripted, path, body) == usual
    assert len(heavy) == 2  # the decode, then the upstream body
    assert msgspec.json.decode(usual)["messages"][400]["content"] in ("turn 400", [{"type": "text", "text": "turn 400"}])
