"""The official Anthropic SDK as a client of what the frontdoor's encoders produce."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx2


def sdk_client(status: int, body: bytes, content_type: str) -> anthropic.Anthropic:
    """An official SDK client whose every request is answered with ``body``."""

    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, content=body, headers={"content-type": content_type})

    return anthropic.Anthropic(
        api_key="test-key",
        base_url="http://gateway.test",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(answer)),
    )


def sdk_stream_message(sse: bytes) -> anthropic.types.Message:
    """The message the SDK's stream helper accumulates from ``sse`` (raises what it raises)."""
    client = sdk_client(200, sse, "text/event-stream")
    with client.messages.stream(
        model="any", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        return stream.get_final_message()


def sdk_raw_events(sse: bytes) -> list[Any]:
    """The raw stream events the SDK parses from ``sse``."""
    client = sdk_client(200, sse, "text/event-stream")
    events = client.messages.create(
        model="any", max_tokens=16, messages=[{"role": "user", "content": "hi"}], stream=True
    )
    return list(events)
