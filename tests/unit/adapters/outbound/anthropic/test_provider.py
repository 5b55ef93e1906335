"""AnthropicProvider over an in-memory fake of the HTTP port."""

from __future__ import annotations

import msgspec
import pytest

from adapters.outbound.anthropic.provider import AnthropicProvider
from adapters.outbound.anthropic.request import build_body
from adapters.outbound.anthropic.settings import AnthropicSettings
from adapters.outbound.http import UpstreamResponse
from domain.errors import ErrorKind, GatewayError
from domain.ir import ChatRequest, Message, MessageStart, MessageStop, TextBlock
from tests.conftest import fixture_bytes, sse_lines
from tests.fakes.http_port import FakeHttp, FakeStream
from tests.streams import collect


def settings(**overrides) -> AnthropicSettings:
    fields = dict(name="claude", base_url="https://api.anthropic.test/", api_key="sk-ant-test",
                  headers={"X-Team": "core"})
    fields.update(overrides)
    return AnthropicSettings(**fields)


def request(**overrides) -> ChatRequest:
    fields = dict(model="claude-sonnet-4-5", max_tokens=64,
                  messages=[Message(role="user", content=[TextBlock(text="Hello")])])
    fields.update(overrides)
    return ChatRequest(**fields)


def ok(name: str) -> UpstreamResponse:
    return UpstreamResponse(200, {}, fixture_bytes(name))


async def test_complete_posts_the_built_body_with_provider_headers():
    http = FakeHttp(answer=ok("anthropic/message_text.json"))
    provider = AnthropicProvider(settings(), http)
    response = await provider.complete(request(), "claude-upstream")
    url, headers, body = http.calls[0]
    assert url == "https://api.anthropic.test/v1/messages"
    assert headers == {"content-type": "application/json", "anthropic-version": "2023-06-01",
                       "x-api-key": "sk-ant-test", "x-team": "core"}
    assert body == build_body(request(), "claude-upstream", settings())
    assert response.id == "msg_01XumvpCiUsmbzilMS7iPp5w"
    assert (provider.name, provider.protocol) == ("claude", "anthropic")


async def test_client_version_and_beta_headers_go_upstream_and_configured_beta_is_joined():
    http = FakeHttp(answer=ok("anthropic/message_text.json"))
    provider = AnthropicProvider(settings(headers={"anthropic-beta": "prompt-caching-2024-07-31"}), http)
    client = {"anthropic-version": "2024-01-01", "anthropic-beta": "interleaved-thinking-2025-05-14"}
    await provider.complete(request(passthrough_headers=client), "m")
    headers = http.calls[0][1]
    assert headers["anthropic-version"] == "2024-01-01"
    assert headers["anthropic-beta"] == "prompt-caching-2024-07-31,interleaved-thinking-2025-05-14"
    await provider.complete(request(), "m")  # the constant headers were not changed by the first call
    assert http.calls[1][1]["anthropic-version"] == "2023-06-01"


async def test_no_key_configured_sends_no_key_header():
    http = FakeHttp(answer=ok("anthropic/message_text.json"))
    await AnthropicProvider(settings(api_key=None), http).complete(request(), "m")
    assert "x-api-key" not in http.calls[0][1]


async def test_missing_key_variable_is_a_configuration_error_before_any_call():
    http = FakeHttp(answer=ok("anthropic/message_text.json"))
    provider = AnthropicProvider(settings(api_key=None, missing_key_var="ANTHROPIC_API_KEY"), http)
    for call in (provider.complete(request(), "m"), provider.count_tokens(request(), "m"),
                 anext(provider.stream(request(stream=True), "m"))):
        with pytest.raises(GatewayError) as caught:
            await call
        assert caught.value.kind is ErrorKind.CONFIGURATION
        assert "ANTHROPIC_API_KEY" in caught.value.message
    assert http.calls == []


async def test_error_status_is_mapped():
    answer = UpstreamResponse(529, {}, fixture_bytes("anthropic/error_529_overloaded.json"))
    with pytest.raises(GatewayError) as caught:
        await AnthropicProvider(settings(), FakeHttp(answer=answer)).complete(request(), "m")
    assert caught.value.kind is ErrorKind.OVERLOADED


async def test_stream_yields_parsed_events_and_closes_the_upstream():
    http = FakeHttp(stream=FakeStream(200, sse_lines("anthropic/stream_text.sse")))
    events = await collect(AnthropicProvider(settings(), http).stream(request(stream=True), "m"))
    assert isinstance(events[0], MessageStart) and isinstance(events[-1], MessageStop)
    assert http.calls[0][0] == "https://api.anthropic.test/v1/messages"
    assert msgspec.json.decode(http.calls[0][2])["stream"] is True
    assert http.open_streams == 0


async def test_stream_error_status_raises_on_first_event():
    body = fixture_bytes("anthropic/error_429.json")
    http = FakeHttp(stream=FakeStream(429, [], body))
    with pytest.raises(GatewayError) as caught:
        await anext(AnthropicProvider(settings(), http).stream(request(stream=True), "m"))
    assert (caught.value.kind, caught.value.status) == (ErrorKind.RATE_LIMITED, 429)
    assert http.open_streams == 0


async def test_closing_the_stream_early_closes_the_upstream():
    upstream = FakeStream(200, sse_lines("anthropic/stream_text.sse"))
    http = FakeHttp(stream=upstream)
    events = AnthropicProvider(settings(), http).stream(request(stream=True), "m")
    assert isinstance(await anext(events), MessageStart)
    assert http.open_streams == 1
    await events.aclose()
    assert http.open_streams == 0
    assert upstream.lines_read < len(sse_lines("anthropic/stream_text.sse"))


async def test_count_tokens_posts_to_its_endpoint_and_reads_input_tokens():
    http = FakeHttp(answer=UpstreamResponse(200, {}, b'{"input_tokens":31}'))
    assert await AnthropicProvider(settings(), http).count_tokens(request(), "m") == 31
    assert http.calls[0][0] == "https://api.anthropic.test/v1/messages/count_tokens"
    http.answer = UpstreamResponse(200, {}, b'{"tokens":31}')
    with pytest.raises(GatewayError) as caught:
        await AnthropicProvider(settings(), http).count_tokens(request(), "m")
    assert caught.value.kind is ErrorKind.PROTOCOL
