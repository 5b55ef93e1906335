"""The real Redis for the tests that need one (never a fake): ``REDIS_URL`` (default
``redis://127.0.0.1:6379``), database ``REDIS_TEST_DB`` (default 11), each test under a key
prefix of its own, deleted after it.

Without a Redis answering there, those tests skip with the reason, unless
``GATEWAY_REQUIRE_REDIS=1`` (CI sets it), where they fail.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlparse

import pytest

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379")
TEST_DB = int(os.environ.get("REDIS_TEST_DB", "11"))


def test_url() -> str:
    """``REDIS_URL`` pointed at the tests' database."""
    parsed = urlparse(REDIS_URL)
    return parsed._replace(path=f"/{TEST_DB}").geturl()


def redis_answers() -> bool:
    parsed = urlparse(REDIS_URL)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def require_redis() -> None:
    """Skip (or, with GATEWAY_REQUIRE_REDIS=1, fail) when no Redis answers at REDIS_URL."""
    if redis_answers():
        return
    reason = f"no Redis answers at {REDIS_URL} (set REDIS_URL, or start redis-server)"
    if os.environ.get("GATEWAY_REQUIRE_REDIS") == "1":
        pytest.fail(f"{reason}; GATEWAY_REQUIRE_REDIS=1 requires it")
    pytest.skip(reason)


@dataclass
class RedisSpace:
    url: str
    prefix: str


def delete_space(space: RedisSpace) -> None:
    import redis

    client = redis.Redis.from_url(space.url)
    try:
        keys = list(client.scan_iter(match=f"{space.prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def redis_space_fixture() -> Iterator[RedisSpace]:
    """The ``redis_space`` fixture (tests/conftest.py): the tests' Redis database and a fresh
    key prefix, its keys deleted after the test."""
    require_redis()
    space = RedisSpace(test_url(), f"test-i12p-{uuid.uuid4().hex[:12]}:")
    yield space
    delete_space(space)
