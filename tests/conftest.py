"""Shared test helpers: recorded wire payloads live in tests/fixtures/<protocol>/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_bytes(name: str) -> bytes:
    """The bytes of ``tests/fixtures/<name>``, e.g. ``fixture_bytes("openai/chat_text.json")``."""
    return (FIXTURES / name).read_bytes()


def sse_lines(name: str) -> list[bytes]:
    """An SSE fixture split into lines, terminators stripped, as the HTTP port yields them."""
    return fixture_bytes(name).split(b"\n")


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


def _keep_loopback_off_proxies() -> None:
    """The suite's servers are on loopback: a developer's proxy variables must not reroute them
    (the httpx client honours them)."""
    current = os.environ.get("NO_PROXY") or os.environ.get("no_proxy") or ""
    os.environ["NO_PROXY"] = ",".join(filter(None, [current, "127.0.0.1", "localhost"]))
    os.environ.pop("no_proxy", None)


_keep_loopback_off_proxies()
