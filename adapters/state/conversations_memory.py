"""``ConversationStore`` in this process: a byte budget, a TTL per entry, least recently used
entries evicted first when the budget is spent.

Single-threaded (the event loop's): no locks. An entry larger than the whole budget is not kept.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

ENTRY_OVERHEAD = 64  # bytes counted per entry besides its key and value


class MemoryConversations:
    def __init__(self, max_bytes: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_bytes = max_bytes
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._bytes = 0

    @property
    def bytes_used(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    async def put(self, key: str, value: bytes, ttl: float) -> None:
        self._drop(key)
        size = _size(key, value)
        if size > self.max_bytes:
            return
        self._entries[key] = (self._clock() + ttl, value)
        self._bytes += size
        while self._bytes > self.max_bytes:
            oldest = next(iter(self._entries))
            self._drop(oldest)

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires <= self._clock():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return value

    async def delete(self, key: str) -> bool:
        entry = self._entries.get(key)
        live = entry is not None and entry[0] > self._clock()
        self._drop(key)
        return live

    async def aclose(self) -> None:
        pass

    def resize(self, max_bytes: int) -> None:
        """A new budget (a reload): entries beyond it are evicted, oldest first."""
        self.max_bytes = max_bytes
        while self._bytes > max_bytes and self._entries:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= _size(key, entry[1])


def _size(key: str, value: bytes) -> int:
    return len(key) + len(value) + ENTRY_OVERHEAD
