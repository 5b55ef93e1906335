"""``ConversationStore`` in Redis (``state.redis_url``): one string key per turn,
``<prefix><response id>``, expiring with its TTL, so every replica finds every stored turn.

A Redis that cannot be reached raises ``UNAVAILABLE`` (a 502 in the client's protocol), never
the client library's exception.
"""

from __future__ import annotations

import math

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from domain.errors import ErrorKind, GatewayError

DEFAULT_PREFIX = "gateway:conversation:"
SOCKET_TIMEOUT = 5.0  # seconds, to connect and for one command


class RedisConversations:
    def __init__(self, url: str, prefix: str = DEFAULT_PREFIX) -> None:
        self._prefix = prefix
        self._redis = aioredis.Redis.from_url(
            url, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT
        )

    async def put(self, key: str, value: bytes, ttl: float) -> None:
        try:
            await self._redis.set(self._prefix + key, value, px=max(1, math.ceil(ttl * 1000)))
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from None

    async def get(self, key: str) -> bytes | None:
        try:
            value = await self._redis.get(self._prefix + key)
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from None
        return value if isinstance(value, bytes) else None

    async def delete(self, key: str) -> bool:
        try:
            return bool(await self._redis.delete(self._prefix + key))
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from None

    async def aclose(self) -> None:
        await self._redis.aclose()


def _unavailable(exc: BaseException) -> GatewayError:
    return GatewayError(
        ErrorKind.UNAVAILABLE, f"The conversation store (Redis) is unavailable: {type(exc).__name__}."
    )
