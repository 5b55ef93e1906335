"""OpenAIProvider over an in-memory HTTP port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import msgspec
import pytest

from adapters.outbound.http import UpstreamResponse
from adapters.outbound.openai.provider import OpenAIProvider
from adapters.outbound.openai.settings import OpenAISettings
from adapters.protocols.sse import SSEFrame
from domain.errors import ErrorKind, GatewayError
from domain.ir import ChatRequest, Message, MessageDelta, MessageStart, Ping, TextBlock
from tests.conftest import fixture_bytes, sse_lines
from tests.fakes.http_port import port_frames

SETTINGS = OpenAISettings(name="openai", base_url="https://api.example.test/v1/", api_key="sk-secret")


@dataclass
class FakeStream:
    status: int
    headers: Mapping[str, str]
    body: bytes = b""
    line_list: list[bytes] = field(default_factory=list)

    async def read(self) -> bytes:
        return self.body

    def frames(self) -> AsyncIterator[list[SSEFrame]]:
        return port_frames(self.line_list)


@dataclass
class FakeHttp:
    """Answers every call with ``status`` and ``body`` (or the SSE fixture ``lines``)."""

    status: int = 200
    body: bytes = b""
    lines: list[bytes] = field(default_factory=list)
    headers: Mapping[str, str] = field(default_factory=dict)
    calls: list[tuple[str, Mapping[str, str], bytes]] = field(default_factory=list)
    closed: int = 0

    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> UpstreamResponse:
        self.calls.append((url, headers, body))
        return UpstreamResponse(self.status, self.headers, self.body)

    @asynccontextmanager
    async def stream(self, url: str, headers: Mapping[str, str], body: bytes) -> AsyncIterator[FakeStream]:
        self.calls.append((url, headers, body))
        try:
            yield FakeStream(self.status, self.headers, self.body, self.lines)
        finally:
            self.closed += 1

    async def aclose(self) -> None:
        pass


def chat(*, stream: bool = False, include_usage: bool | None = None) -> ChatRequest:
    extra = {} if include_usage is None else {"include_usage": include_usage}
    return ChatRequest(
        model="gpt-4o-mini",
        messages=[Message(role="user", content=[TextBlock(text="Hello!")])],
        stream=stream,
        **extra,
    )


async def test_complete_posts_to_chat_completions_with_the_provider_key() -> None:
    http = FakeHttp(body=fixture_bytes("openai/chat_text.json"))
    provider = OpenAIProvider(SETTINGS, http)

    response = await provider.complete(chat(), "gpt-4o")

    (url, headers, body), = http.calls
    assert url == "https://api.example.test/v1/chat/completions"
    assert headers == {
        "authorization": "Bearer sk-secret",
        "content-type": "application/json",
        "accept": "application/json",
    }
    assert msgspec.json.decode(body)["model"] == "gpt-4o"
    assert response.id == "chatcmpl-C0b2mcSAsZKHL1fyK2dB5v09URmaL"
    assert (provider.name, provider.protocol) == ("openai", "openai")


async def test_no_key_sends_no_authorization_and_configured_headers_are_added() -> None:
    settings = OpenAISettings(name="local", base_url="http://127.0.0.1:8000/v1", headers={"X-Org": "acme"})
    http = FakeHttp(body=fixture_bytes("openai/chat_text.json"))

    await OpenAIProvider(settings, http).complete(chat(), "m")

    headers = http.calls[0][1]
    assert "authorization" not in headers
    assert headers["x-org"] == "acme"


async def test_missing_key_variable_is_a_configuration_error_on_every_call() -> None:
    settings = OpenAISettings(name="openai", base_url="https://x.test/v1", missing_key_var="OPENAI_API_KEY")
    http = FakeHttp()
    provider = OpenAIProvider(settings, http)

    for call in (provider.complete(chat(), "m"), anext(provider.stream(chat(stream=True), "m"))):
        with pytest.raises(GatewayError) as caught:
            await call
        assert caught.value.kind is ErrorKind.CONFIGURATION
        assert caught.value.message == (
            "Provider 'openai' has no API key: set OPENAI_API_KEY (environment or .env)."
        )
    assert http.calls == []


async def test_error_status_is_mapped() -> None:
    http = FakeHttp(status=429, body=fixture_bytes("openai/error_429.json"), headers={"retry-after": "3"})

    with pytest.raises(GatewayError) as caught:
        await OpenAIProvider(SETTINGS, http).complete(chat(), "m")

    error = caught.value
    assert (error.kind, error.client_status, error.retry_after) == (ErrorKind.RATE_LIMITED, 429, 3.0)


async def test_stream_asks_for_event_stream_and_forces_usage_upstream() -> None:
    http = FakeHttp(lines=sse_lines("openai/stream_text_with_usage.sse"))

    events = [e async for e in OpenAIProvider(SETTINGS, http).stream(chat(stream=True), "gpt-4o")]

    _, headers, body = http.calls[0]
    assert headers["accept"] == "text/event-stream"
    assert msgspec.json.decode(body)["stream_options"] == {"include_usage": True}
    assert isinstance(events[0], MessageStart)
    assert isinstance(events[-2], MessageDelta) and events[-2].usage.output_tokens == 23
    assert not any(isinstance(e, Ping) for e in events)  # the client did not ask for the usage chunk
    assert http.closed == 1


async def test_stream_relays_the_usage_chunk_when_the_client_asked() -> None:
    http = FakeHttp(lines=sse_lines("openai/stream_text_with_usage.sse"))

    stream = OpenAIProvider(SETTINGS, http).stream(chat(stream=True, include_usage=True), "m")
    events = [e async for e in stream]

    assert any(isinstance(e, Ping) and e.native for e in events)


async def test_stream_error_status_is_raised_before_any_event() -> None:
    http = FakeHttp(status=503, body=b'{"error":{"message":"busy","type":"server_error"}}')

    with pytest.raises(GatewayError) as caught:
        await anext(OpenAIProvider(SETTINGS, http).stream(chat(stream=True), "m"))

    assert (caught.value.kind, caught.value.message) == (ErrorKind.OVERLOADED, "busy")
    assert http.closed == 1


async def test_closing_the_stream_early_closes_the_upstream() -> None:
    http = FakeHttp(lines=sse_lines("openai/stream_tool_calls_parallel.sse"))
    events = OpenAIProvider(SETTINGS, http).stream(chat(stream=True), "m")

    await anext(events)
    assert http.closed == 0
    await events.aclose()  # type: ignore[attr-defined]

    assert http.closed == 1


async def test_count_tokens_is_a_local_estimate() -> None:
    http = FakeHttp()
    count = await OpenAIProvider(SETTINGS, http).count_tokens(chat(), "m")

    assert isinstance(count, int) and count > 0
    assert http.calls == []
