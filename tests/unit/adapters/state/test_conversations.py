"""Both ConversationStore backends pass the same cases: in-process, and a real Redis (database
12, a key prefix of this run's own, removed afterwards). Without Redis the Redis cases skip,
visibly, unless GATEWAY_REQUIRE_REDIS=1 (CI), where they fail."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from adapters.state.conversations_memory import ENTRY_OVERHEAD, MemoryConversations
from adapters.state.conversations_redis import RedisConversations
from domain.errors import ErrorKind, GatewayError
from domain.ports import ConversationStore
from tests.redis_db import REDIS_URL, redis_or_skip


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[ConversationStore]:
    if request.param == "memory":
        yield MemoryConversations(1024 * 1024)
        return
    admin = await redis_or_skip()
    prefix = f"i14-test:{uuid.uuid4().hex}:"
    backend = RedisConversations(REDIS_URL, prefix=prefix)
    try:
        yield backend
    finally:
        await backend.aclose()
        keys = [key async for key in admin.scan_iter(match=prefix + "*")]
        if keys:
            await admin.delete(*keys)
        await admin.aclose()


async def test_a_turn_put_is_got_back_byte_for_byte(store: ConversationStore) -> None:
    value = b'{"input":[],"response":{"id":"resp_1","x":"\xc3\xa9"}}'
    await store.put("resp_1", value, 60)
    assert await store.get("resp_1") == value


async def test_an_unknown_id_is_none(store: ConversationStore) -> None:
    assert await store.get("resp_missing") is None
    assert await store.delete("resp_missing") is False


async def test_put_replaces(store: ConversationStore) -> None:
    await store.put("resp_1", b"one", 60)
    await store.put("resp_1", b"two", 60)
    assert await store.get("resp_1") == b"two"


async def test_delete_removes(store: ConversationStore) -> None:
    await store.put("resp_1", b"one", 60)
    assert await store.delete("resp_1") is True
    assert await store.get("resp_1") is None
    assert await store.delete("resp_1") is False


async def test_a_turn_expires_after_its_ttl(store: ConversationStore) -> None:
    await store.put("resp_short", b"brief", 0.05)
    await store.put("resp_long", b"kept", 60)
    await asyncio.sleep(0.3)
    assert await store.get("resp_short") is None
    assert await store.get("resp_long") == b"kept"


# --- in-process only: the byte budget ---------------------------------------------------------


def entry(key: str, size: int) -> int:
    return len(key) + size + ENTRY_OVERHEAD


async def test_memory_evicts_the_least_recently_used_beyond_its_budget() -> None:
    store = MemoryConversations(max_bytes=3 * entry("k1", 100))
    for key in ("k1", "k2", "k3"):
        await store.put(key, b"x" * 100, 60)
    assert await store.get("k1") is not None  # k1 used: k2 is now the oldest
    await store.put("k4", b"x" * 100, 60)
    assert await store.get("k2") is None
    assert [await store.get(k) is not None for k in ("k1", "k3", "k4")] == [True, True, True]
    assert store.bytes_used <= store.max_bytes


async def test_memory_keeps_no_entry_larger_than_its_budget() -> None:
    store = MemoryConversations(max_bytes=100)
    await store.put("small", b"x", 60)
    await store.put("huge", b"x" * 1000, 60)
    assert await store.get("huge") is None
    assert await store.get("small") == b"x"


async def test_memory_resize_evicts_down_to_the_new_budget() -> None:
    store = MemoryConversations(max_bytes=10_000)
    for key in ("k1", "k2", "k3"):
        await store.put(key, b"x" * 100, 60)
    store.resize(entry("k3", 100))
    assert len(store) == 1 and await store.get("k3") is not None


async def test_redis_unreachable_is_unavailable_not_a_library_error() -> None:
    store = RedisConversations("redis://127.0.0.1:1/0")
    try:
        with pytest.raises(GatewayError) as caught:
            await store.get("resp_1")
        assert caught.value.kind is ErrorKind.UNAVAILABLE
    finally:
        await store.aclose()


async def test_the_redis_store_writes_under_the_configured_key_prefix() -> None:
    """``state.key_prefix`` covers every key the gateway writes, stored turns included."""
    from infrastructure.config.loader import parse_config
    from infrastructure.container import build_conversations

    admin = await redis_or_skip()
    prefix = f"i14-test:{uuid.uuid4().hex}:"
    text = f"state: {{redis_url: '{REDIS_URL}', key_prefix: '{prefix}'}}\n"
    store = build_conversations(parse_config(text, source="test", env={}))
    try:
        await store.put("resp_1", b"turn", 60)
        assert await admin.get(prefix + "conversation:resp_1") == b"turn"
    finally:
        await store.aclose()
        await admin.delete(prefix + "conversation:resp_1")
        await admin.aclose()
