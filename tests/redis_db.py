"""The real Redis the Responses tests use: database 12 of ``REDIS_URL`` (default
127.0.0.1:6379), each test with keys of its own that it removes. Skipped or failed as every
Redis test is (``tests/redis_support.require_redis``)."""

from __future__ import annotations

from urllib.parse import urlsplit

import redis.asyncio as aioredis

from tests.redis_support import REDIS_URL as SERVER_URL
from tests.redis_support import require_redis

DATABASE = 12
REDIS_URL = urlsplit(SERVER_URL)._replace(path=f"/{DATABASE}").geturl()


async def redis_or_skip() -> aioredis.Redis:
    require_redis()
    return aioredis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
