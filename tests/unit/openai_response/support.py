"""Helpers for the OpenAI response-side tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

from domain.ir import AnyEvent
from tests.conftest import sse_lines
from tests.streams import openai_events


async def aiter_of(items: Iterable[object]) -> AsyncIterator[object]:
    for item in items:
        yield item


async def parse_fixture(name: str, *, relay_usage: bool = False) -> list[AnyEvent]:
    """Every IR event the OpenAI stream parser yields for ``tests/fixtures/openai/<name>``."""
    return await parse_lines(sse_lines(f"openai/{name}"), relay_usage=relay_usage)


async def parse_lines(lines: list[bytes], *, relay_usage: bool = False) -> list[AnyEvent]:
    events = openai_events(lines, relay_usage=relay_usage)
    return [event async for event in events]


def frames_of(raw: bytes) -> list[bytes]:
    """The data of each SSE frame in ``raw`` (a fixture or an encoder's output)."""
    parts = [part for part in raw.split(b"\n\n") if part.strip() and not part.startswith(b":")]
    return [part.removeprefix(b"data: ") for part in parts]


def sse(*payloads: bytes) -> list[bytes]:
    """Lines of a stream made of ``payloads`` (each one ``data:`` frame)."""
    lines: list[bytes] = []
    for payload in payloads:
        lines += [b"data: " + payload, b""]
    return lines
