"""Azure OpenAI opens a stream with a chunk of prompt_filter_results and no id or model: the
message must start with the next chunk, keeping the upstream's id and model."""

from __future__ import annotations

from collections.abc import AsyncIterator

from domain.ir import MessageStart, Ping
from tests.streams import openai_events

AZURE = [
    b'data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}',
    b"",
    b'data: {"id":"chatcmpl-AZ1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}',
    b"",
    b'data: {"id":"chatcmpl-AZ1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}',
    b"",
    b"data: [DONE]",
    b"",
]


async def _lines() -> AsyncIterator[bytes]:
    for line in AZURE:
        yield line


async def test_the_message_starts_with_the_first_chunk_that_has_an_id() -> None:
    events = [e async for e in openai_events(_lines())]
    assert isinstance(events[0], Ping) and events[0].native is not None  # still relayed natively
    start = events[1]
    assert isinstance(start, MessageStart)
    assert (start.id, start.model, start.created) == ("chatcmpl-AZ1", "gpt-4o-2024-08-06", 1700000000)
