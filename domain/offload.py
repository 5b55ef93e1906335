"""CPU-heavy work of one large request, kept off the event loop.

Decoding and translating a body of tens of megabytes is seconds of Python (900,000 short
messages: about a microsecond each way per message). On the event loop that would stall every
other request of the worker, health checks included. ``off_loop`` runs such work on one
dedicated thread: the loop takes the GIL back at every switch interval (lowered from 5 ms to
``SWITCH_INTERVAL`` while the work runs), and with one thread large requests queue behind each
other instead of all taking turns with the loop. What the thread cannot give back is a single
call into C: msgspec decoding or encoding a whole 31 MB body holds the GIL for 0.1-0.3 s.

While it runs, the cyclic garbage collector is paused: the work builds millions of objects that
all live until it ends, and the collector would walk them again and again as they grow (about
half of the time otherwise). Nothing it builds forms a cycle; refcounting frees it.

``LARGE_BYTES`` is where a body counts as large. The hop to the thread costs about 30 us;
decoding 8,000 one-character messages (234 KiB) takes 26 ms in place and 5 ms there, with the
collector paused; a body of 300 long messages (887 KiB) 2.4 ms in place and 2.7 ms there. So
below the threshold the worst case stalls the loop for tens of milliseconds at most, and above
it a body of any shape gains or loses little.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from domain.ir import UNSET, ChatRequest

LARGE_BYTES = 256 * 1024
SWITCH_INTERVAL = 0.001  # seconds: how long the loop may wait for the GIL while heavy work runs

P = ParamSpec("P")
T = TypeVar("T")

_pool: ThreadPoolExecutor | None = None


def is_large_body(size: int) -> bool:
    return size >= LARGE_BYTES


def is_large(request: ChatRequest) -> bool:
    """Whether the client's body (as the frontdoor kept it) is ``LARGE_BYTES`` or more."""
    native = request.native
    return native is not UNSET and sum(map(len, native.fields.values())) >= LARGE_BYTES


async def off_loop(work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``work(*args, **kwargs)`` on the heavy-work thread, with the caller's context (log
    bindings) and the garbage collector paused."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gateway-heavy")
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(_pool, context.run, _paused, work, args, kwargs)


def _paused(work: Callable[..., T], args: tuple[object, ...], kwargs: dict[str, object]) -> T:
    enabled, interval = gc.isenabled(), sys.getswitchinterval()
    gc.disable()
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        return work(*args, **kwargs)
    finally:
        sys.setswitchinterval(interval)
        if enabled:
            gc.enable()
