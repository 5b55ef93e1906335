"""No configured key leaves a provider: error answers of every status, in-stream error frames
(relayed natively or translated), errors before a stream starts and transport failures all
reach the service scrubbed, whatever the upstream quoted."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import msgspec
import pytest

from adapters.outbound import PROVIDER_KINDS
from adapters.outbound.http import UpstreamResponse
from adapters.outbound.scrub import Scrubber
from adapters.protocols.sse import SSEFrame
from domain.errors import ErrorKind, GatewayError
from domain.ir import ChatRequest, Message, NativeRequest, StreamError, TextBlock
from tests.conftest import fixture_bytes
from tests.fakes.http_port import port_frames

KEYS = {
    "openai": "sk-proj-unit0openai1key2abcdefghijklmnop",
    "anthropic": "sk-ant-api03-unit-anthropic-key-0123456789",
}
SCRUB = Scrubber(KEYS.values())
STATUSES = [400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503, 504, 529]


def quoting(key: str) -> str:
    """What OpenAI-compatible servers and proxies say about a key they refuse."""
    return f"Incorrect API key provided: {key[:12]}********{key[-4:]}. Sent: {key}; header 'Bearer {key}'."


def error_body(protocol: str, key: str) -> bytes:
    if protocol == "anthropic":
        return msgspec.json.encode({"type": "error", "error": {"type": "api_error", "message": quoting(key)}})
    return msgspec.json.encode(
        {"error": {"message": quoting(key), "type": "server_error", "param": key, "code": key}}
    )


def error_frame(protocol: str, key: str) -> list[bytes]:
    if protocol == "anthropic":
        return [b"event: error", b"data: " + error_body(protocol, key), b""]
    return [b"data: " + error_body(protocol, key), b""]


def first_frames(protocol: str) -> list[bytes]:
    """The stream's opening frames (what precedes the error)."""
    name = "anthropic/stream_text.sse" if protocol == "anthropic" else "openai/stream_text_with_usage.sse"
    return fixture_bytes(name).split(b"\n")[:6]


@dataclass
class EchoStream:
    status: int
    headers: Mapping[str, str]
    body: bytes
    line_list: list[bytes]

    async def read(self) -> bytes:
        return self.body

    def frames(self) -> AsyncIterator[list[SSEFrame]]:
        return port_frames(self.line_list)


class EchoHttp:
    """An upstream that quotes the key it was sent: ``answer(key)`` gives status, body, lines;
    ``fail`` raises the transport error of a client library that quoted it."""

    def __init__(self, answer: Callable[[str], tuple[int, bytes, list[bytes]]], fail: bool = False) -> None:
        self.answer = answer
        self.fail = fail

    @staticmethod
    def key_of(headers: Mapping[str, str]) -> str:
        return headers.get("x-api-key") or headers["authorization"].removeprefix("Bearer ")

    def _check(self, key: str) -> None:
        if self.fail:
            raise GatewayError(
                ErrorKind.UNAVAILABLE, f"Provider 'p' is unreachable: illegal header line: {key}"
            )

    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> UpstreamResponse:
        key = self.key_of(headers)
        self._check(key)
        status, answer, _ = self.answer(key)
        return UpstreamResponse(status, {"retry-after": "1"}, answer)

    @asynccontextmanager
    async def stream(self, url: str, headers: Mapping[str, str], body: bytes) -> AsyncIterator[EchoStream]:
        key = self.key_of(headers)
        self._check(key)
        status, answer, lines = self.answer(key)
        yield EchoStream(status, {}, answer, lines)

    async def aclose(self) -> None:
        pass


def provider(protocol: str, http: EchoHttp):
    kind = PROVIDER_KINDS[protocol]
    settings = kind.settings(name=protocol, base_url="https://up.example.test", api_key=KEYS[protocol])
    return kind.create(settings, http, SCRUB)


def request(client: str, *, stream: bool) -> ChatRequest:
    native = NativeRequest(protocol=client, fields={}) if client else msgspec.UNSET  # type: ignore[arg-type]
    return ChatRequest(
        model="m",
        messages=[Message(role="user", content=[TextBlock(text="hi")])],
        stream=stream,
        max_tokens=8,
        native=native,
    )


def assert_clean(text: str | bytes | None) -> None:
    text = text.decode() if isinstance(text, bytes) else text or ""
    for key in KEYS.values():
        assert key[:12] not in text, text


COMBOS = [(client, upstream) for client in ("openai", "anthropic") for upstream in ("openai", "anthropic")]


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize(("client", "upstream"), COMBOS)
async def test_error_answers_of_every_status_are_scrubbed(client: str, upstream: str, status: int) -> None:
    http = EchoHttp(lambda key: (status, error_body(upstream, key), []))
    chat = provider(upstream, http)

    with pytest.raises(GatewayError) as complete:
        await chat.complete(request(client, stream=False), "m")
    with pytest.raises(GatewayError) as opening:
        await anext(chat.stream(request(client, stream=True), "m"))

    for error in (complete.value, opening.value):
        assert_clean(error.message), assert_clean(error.code), assert_clean(error.param)
        assert "[redacted]" in error.message or status in (401, 403)


@pytest.mark.parametrize(("client", "upstream"), COMBOS)
async def test_in_stream_error_frames_are_scrubbed_in_message_and_native_frame(
    client: str, upstream: str
) -> None:
    http = EchoHttp(lambda key: (200, b"", first_frames(upstream) + error_frame(upstream, key)))

    events = [event async for event in provider(upstream, http).stream(request(client, stream=True), "m")]

    failure = events[-1]
    assert isinstance(failure, StreamError) and len(events) > 1
    assert_clean(failure.message), assert_clean(failure.native)
    assert "[redacted]" in failure.message and b"[redacted]" in (failure.native or b"")


@pytest.mark.parametrize("client", ["openai", "anthropic"])
async def test_an_anthropic_error_event_first_is_scrubbed(client: str) -> None:
    http = EchoHttp(lambda key: (200, b"", error_frame("anthropic", key)))

    first = await anext(provider("anthropic", http).stream(request(client, stream=True), "m"))

    assert isinstance(first, StreamError)  # the service raises it as an ordinary error
    assert_clean(first.message), assert_clean(first.native)


async def test_an_openai_error_frame_first_raises_scrubbed() -> None:
    http = EchoHttp(lambda key: (200, b"", error_frame("openai", key)))

    for client in ("openai", "anthropic"):
        with pytest.raises(GatewayError) as caught:
            await anext(provider("openai", http).stream(request(client, stream=True), "m"))
        assert_clean(caught.value.message)


@pytest.mark.parametrize("upstream", ["openai", "anthropic"])
async def test_a_200_carrying_an_error_body_is_scrubbed(upstream: str) -> None:
    http = EchoHttp(lambda key: (200, error_body(upstream, key), []))

    for client in ("openai", "anthropic"):
        with pytest.raises(GatewayError) as caught:
            await provider(upstream, http).complete(request(client, stream=False), "m")
        assert_clean(caught.value.message)


@pytest.mark.parametrize("upstream", ["openai", "anthropic"])
async def test_transport_errors_are_scrubbed(upstream: str) -> None:
    chat = provider(upstream, EchoHttp(lambda key: (200, b"", []), fail=True))

    with pytest.raises(GatewayError) as complete:
        await chat.complete(request("", stream=False), "m")
    with pytest.raises(GatewayError) as opening:
        await anext(chat.stream(request("", stream=True), "m"))

    for error in (complete.value, opening.value):
        assert error.kind is ErrorKind.UNAVAILABLE
        assert_clean(error.message)


async def test_anthropic_count_tokens_errors_are_scrubbed() -> None:
    chat = provider("anthropic", EchoHttp(lambda key: (400, error_body("anthropic", key), [])))

    with pytest.raises(GatewayError) as caught:
        await chat.count_tokens(request("anthropic", stream=False), "m")

    assert_clean(caught.value.message)
