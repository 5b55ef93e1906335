"""The real Redis the tests use: database 12 of ``REDIS_URL`` (default 127.0.0.1:6379), each
test with keys of its own that it removes. Without Redis those tests skip, visibly, unless
GATEWAY_REQUIRE_REDIS=1 (CI), where they fail."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest
import redis.asyncio as aioredis

DATABASE = 12
REDIS_URL = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379")._replace(path=f"/{DATABASE}").geturl()


async def redis_or_skip() -> aioredis.Redis:
    client = aioredis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "no Redis here"
        await client.aclose()
        if os.environ.get("GATEWAY_REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis is required (GATEWAY_REQUIRE_REDIS=1) and {REDIS_URL} failed: {exc!r}")
        pytest.skip(f"no Redis at {REDIS_URL} ({type(exc).__name__}); set REDIS_URL to run these")
    return client
