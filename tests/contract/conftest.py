"""The HTTP client contract runs on both event loops: the server runs on uvloop, whose loop API
differs from asyncio's in places (``create_connection`` takes no ``happy_eyeballs_delay``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import pytest
import uvloop


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    if item.path.name in ("test_http_clients.py", "test_httptools_client.py"):
        return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}
    return {"asyncio": asyncio.new_event_loop}
