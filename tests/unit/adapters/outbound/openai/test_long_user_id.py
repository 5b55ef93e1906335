"""Regression: Claude Code's ``metadata.user_id`` (over 100 characters) became OpenAI's ``user``,
which OpenAI refuses beyond 64 characters: every Claude Code request routed to OpenAI got a 400."""

from __future__ import annotations

import hashlib
import json

import msgspec

from adapters.inbound.anthropic.decode import to_ir
from adapters.outbound.openai.request import USER_MAX_LENGTH, build_body
from adapters.outbound.openai.settings import OpenAISettings
from tests.conftest import fixture_bytes

SETTINGS = OpenAISettings(name="openai", base_url="https://api.openai.com/v1")


def _user_sent(user_id: str) -> str:
    body = {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "Hi"}],
            "metadata": {"user_id": user_id}}  # fmt: skip
    request = to_ir(msgspec.json.encode(body), {})
    return msgspec.json.decode(build_body(request, "gpt-5-mini", SETTINGS))["user"]


def test_claude_code_user_id_is_sent_as_its_digest() -> None:
    user_id = json.loads(fixture_bytes("anthropic/request_claude_code.json"))["metadata"]["user_id"]
    assert len(user_id) > USER_MAX_LENGTH
    sent = _user_sent(user_id)
    assert sent == hashlib.sha256(user_id.encode()).hexdigest()
    assert len(sent) == USER_MAX_LENGTH
    assert _user_sent(user_id) == sent  # stable: the same user keeps the same id


def test_a_user_id_openai_accepts_is_sent_as_is() -> None:
    assert _user_sent("3f1e4c2a-user-hash") == "3f1e4c2a-user-hash"
    assert _user_sent("u" * USER_MAX_LENGTH) == "u" * USER_MAX_LENGTH
