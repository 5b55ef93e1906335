"""The same contract for every HttpClient implementation, against the fake upstream on loopback."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest

from adapters.outbound.http import ClientKind, HttpClient, Timeouts, create_http_client
from adapters.outbound.http.body import ResponseLimits
from adapters.protocols.sse import SSEFrame
from domain.errors import ErrorKind, GatewayError
from tests.conftest import fixture_bytes, sse_frames
from tests.fakes.hostile import (
    BadHeader,
    Endless,
    GzipBomb,
    HostileUpstream,
    HugeBody,
    HugeHead,
    HugeLine,
    Status,
)
from tests.fakes.upstream import FakeUpstream, Refuse, Stall, error, sse_fixture

TIMEOUTS = Timeouts(connect=0.5, read=0.2, total=1.0)
JSON = {"content-type": "application/json"}
OPENAI_BODY = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}'
OPENAI_STREAM_BODY = (
    b'{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[]}'
)


@pytest.fixture
async def upstream() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as fake:
        yield fake


@pytest.fixture(params=["httptools", "httpx"])
def client_kind(request: pytest.FixtureRequest) -> ClientKind:
    return request.param


@pytest.fixture
async def client(client_kind: ClientKind) -> AsyncIterator[HttpClient]:
    http = create_http_client(client_kind, name="fake", timeouts=TIMEOUTS)
    yield http
    await http.aclose()


def chat_url(upstream: FakeUpstream) -> str:
    return upstream.url + "/v1/chat/completions"


async def stream_frames(client: HttpClient, url: str, body: bytes) -> list[SSEFrame]:
    async with client.stream(url, JSON, body) as stream:
        assert stream.status == 200
        return [frame async for frames in stream.frames() for frame in frames]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_post_json_round_trips_body_and_headers(client: HttpClient, upstream: FakeUpstream):
    headers = {"content-type": "application/json", "authorization": "Bearer sk-upstream"}

    response = await client.post(chat_url(upstream), headers, OPENAI_BODY)

    assert response.status == 200
    assert response.body == fixture_bytes("openai/chat_text.json")
    assert response.headers["content-type"].startswith("application/json")
    assert "x-request-id" in set(response.headers)  # names iterate lower-case
    seen = upstream.requests[0]
    assert (seen.method, seen.path, seen.body) == ("POST", "/v1/chat/completions", OPENAI_BODY)
    assert seen.headers["authorization"] == "Bearer sk-upstream"


async def test_post_returns_error_status_with_retry_after(client: HttpClient, upstream: FakeUpstream):
    upstream.script(error(429, retry_after=3))

    response = await client.post(chat_url(upstream), JSON, OPENAI_BODY)

    assert (response.status, response.body) == (429, fixture_bytes("openai/error_429.json"))
    assert response.headers["retry-after"] == "3"


@pytest.mark.parametrize("delay_ms", [0, 3])
async def test_stream_yields_the_fixture_frames_intact(
    client: HttpClient, upstream: FakeUpstream, delay_ms: float
):
    name = "openai/stream_text_with_usage.sse"
    upstream.script(sse_fixture(name, delay_ms=delay_ms))

    assert await stream_frames(client, chat_url(upstream), OPENAI_STREAM_BODY) == sse_frames(name)


async def test_anthropic_stream_frames_intact(client: HttpClient, upstream: FakeUpstream):
    body = b'{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[]}'

    frames = await stream_frames(client, upstream.url + "/v1/messages", body)

    assert frames == sse_frames("anthropic/stream_text.sse")


async def test_error_status_body_is_readable_on_a_stream(client: HttpClient, upstream: FakeUpstream):
    upstream.script(error(529, protocol="anthropic"))

    async with client.stream(upstream.url + "/v1/messages", JSON, b"{}") as stream:
        assert stream.status == 529
        assert await stream.read() == fixture_bytes("anthropic/error_529_overloaded.json")


@pytest.mark.parametrize("use_stream", [False, True], ids=["post", "stream"])
async def test_refused_connection_is_unavailable(client: HttpClient, use_stream: bool):
    url = f"http://127.0.0.1:{closed_port()}/v1/chat/completions"

    with pytest.raises(GatewayError) as caught:
        if use_stream:
            await stream_frames(client, url, OPENAI_STREAM_BODY)
        else:
            await client.post(url, JSON, OPENAI_BODY)

    assert (caught.value.kind, caught.value.provider) == (ErrorKind.UNAVAILABLE, "fake")
    assert caught.value.message.startswith("Provider 'fake' is unreachable: ")


async def test_connection_closed_without_an_answer_is_unavailable(client: HttpClient, upstream: FakeUpstream):
    upstream.script(Refuse())

    with pytest.raises(GatewayError) as caught:
        await client.post(chat_url(upstream), JSON, OPENAI_BODY)

    assert caught.value.kind is ErrorKind.UNAVAILABLE
    assert caught.value.message == "Provider 'fake' closed the connection without answering"


@pytest.mark.parametrize("use_stream", [False, True], ids=["post", "stream"])
async def test_stall_beyond_read_timeout_is_timeout(
    client: HttpClient, upstream: FakeUpstream, use_stream: bool
):
    upstream.script(Stall(1.0))

    with pytest.raises(GatewayError) as caught:
        if use_stream:
            await stream_frames(client, chat_url(upstream), OPENAI_STREAM_BODY)
        else:
            await client.post(chat_url(upstream), JSON, OPENAI_BODY)

    assert caught.value.kind is ErrorKind.TIMEOUT
    assert caught.value.message == "Provider 'fake' did not answer within 0.2 s"


async def test_stall_mid_stream_raises_timeout_from_frames(client: HttpClient, upstream: FakeUpstream):
    upstream.script(sse_fixture("openai/stream_text_with_usage.sse", stall_after=2, stall_seconds=1.0))
    seen: list[SSEFrame] = []

    with pytest.raises(GatewayError) as caught:
        async with client.stream(chat_url(upstream), JSON, OPENAI_STREAM_BODY) as stream:
            async for frames in stream.frames():
                seen += frames

    assert caught.value.kind is ErrorKind.TIMEOUT
    assert seen == sse_frames("openai/stream_text_with_usage.sse")[:2]


async def test_connection_cut_mid_stream_raises_unavailable_from_frames(
    client: HttpClient, upstream: FakeUpstream
):
    upstream.script(sse_fixture("anthropic/stream_text.sse", cut_after=3))
    seen: list[SSEFrame] = []

    with pytest.raises(GatewayError) as caught:
        async with client.stream(upstream.url + "/v1/messages", JSON, b"{}") as stream:
            async for frames in stream.frames():
                seen += frames

    assert caught.value.kind is ErrorKind.UNAVAILABLE
    assert caught.value.message.startswith("Provider 'fake' closed the connection before its response ended")
    assert seen == sse_frames("anthropic/stream_text.sse")[:3]


async def test_consumer_leaving_mid_stream_closes_the_upstream_connection(
    client: HttpClient, upstream: FakeUpstream
):
    upstream.script(sse_fixture("openai/stream_text_with_usage.sse", delay_ms=30))

    async with client.stream(chat_url(upstream), JSON, OPENAI_STREAM_BODY) as stream:
        async for _frames in stream.frames():
            break

    assert await upstream.wait_for(lambda: upstream.requests[0].disconnected, timeout=1.0)
    assert upstream.requests[0].frames_sent < 5


async def test_sequential_requests_reuse_one_pooled_connection(client_kind: ClientKind, upstream: FakeUpstream):
    # Timeouts far from the test's: the fake upstream shares the client's event loop, and under
    # CPU contention a 0.2 s read timeout fired mid-stream (the pooling is what is tested here).
    client = create_http_client(client_kind, name="fake", timeouts=Timeouts(connect=5, read=5, total=10))
    try:
        await _reuse_one_pooled_connection(client, upstream)
    finally:
        await client.aclose()


async def _reuse_one_pooled_connection(client: HttpClient, upstream: FakeUpstream) -> None:
    for _ in range(5):
        assert (await client.post(chat_url(upstream), JSON, OPENAI_BODY)).status == 200
        assert (await stream_frames(client, chat_url(upstream), OPENAI_STREAM_BODY))[-1].data == b"[DONE]"
    upstream.script(error(500))
    async with client.stream(chat_url(upstream), JSON, OPENAI_STREAM_BODY) as stream:
        assert (stream.status, await stream.read()) == (500, error(500).body)
    assert (await client.post(chat_url(upstream), JSON, OPENAI_BODY)).status == 200

    assert len(upstream.requests) == 12
    assert upstream.connections == 1


async def test_aclose_twice_and_before_first_use_is_fine(
    client: HttpClient, client_kind: ClientKind, upstream: FakeUpstream
):
    unused = create_http_client(client_kind, name="unused", timeouts=TIMEOUTS)
    await unused.aclose()
    await unused.aclose()
    await client.post(chat_url(upstream), JSON, OPENAI_BODY)
    await client.aclose()
    await client.aclose()


@pytest.mark.parametrize("url", ["api.example.test/v1/chat/completions", "ftp://127.0.0.1/v1"])
async def test_unusable_url_is_a_configuration_error(client: HttpClient, url: str):
    with pytest.raises(GatewayError) as caught:
        await client.post(url, JSON, OPENAI_BODY)

    assert (caught.value.kind, caught.value.provider) == (ErrorKind.CONFIGURATION, "fake")


# ---- limits on what an upstream sends (adapters/outbound/http/body.py) ------------------------

SMALL = ResponseLimits(max_response_bytes=1024 * 1024, max_sse_line_bytes=256 * 1024)
KEY = "sk-proj-contract0key1abcdefghijklmnopqrstuvwxyz"


@pytest.fixture
async def hostile() -> AsyncIterator[HostileUpstream]:
    async with HostileUpstream() as fake:
        yield fake


@pytest.fixture
async def limited(client_kind: ClientKind) -> AsyncIterator[HttpClient]:
    timeouts = Timeouts(connect=0.5, read=2.0, total=10.0, stream_max=0.5)
    http = create_http_client(client_kind, name="fake", timeouts=timeouts, response=SMALL)
    yield http
    await http.aclose()


async def fail(client: HttpClient, url: str, *, use_stream: bool) -> GatewayError:
    """The GatewayError a POST (or a stream, read to its end) ends with."""
    with pytest.raises(GatewayError) as caught:
        if use_stream:
            async with client.stream(url, JSON, OPENAI_STREAM_BODY) as stream:
                async for _frames in stream.frames():
                    pass
        else:
            await client.post(url, JSON, OPENAI_BODY)
    assert (caught.value.kind, caught.value.client_status) == (ErrorKind.PROTOCOL, 502)
    return caught.value


@pytest.mark.parametrize("use_stream", [False, True], ids=["post", "stream"])
@pytest.mark.parametrize("size", [80 * 1024, 50 * 1024 * 1024], ids=["80KiB", "50MiB"])
async def test_a_response_head_over_64_kib_is_refused_as_it_arrives(
    limited: HttpClient, hostile: HostileUpstream, use_stream: bool, size: int
):
    hostile.script(HugeHead(size))

    error = await fail(limited, hostile.url + "/v1/chat/completions", use_stream=use_stream)

    assert error.message == (
        "Provider 'fake' sent a response head (status line and headers) larger than 64 KiB"
    )
    assert size < 1024 * 1024 or await hostile_gone(hostile)  # the client stopped reading


async def test_a_head_under_64_kib_is_fine(limited: HttpClient, hostile: HostileUpstream):
    hostile.script(HugeHead(60 * 1024))

    response = await limited.post(hostile.url + "/v1/chat/completions", JSON, OPENAI_BODY)

    assert (response.status, response.body, len(response.headers["x-padding"])) == (200, b"{}", 60 * 1024)


@pytest.mark.parametrize(
    "script", [HugeBody(5 * 1024 * 1024), GzipBomb(64 * 1024 * 1024)], ids=["plain", "gzip-bomb"]
)
async def test_a_body_over_max_response_bytes_after_decompression_is_refused(
    limited: HttpClient, hostile: HostileUpstream, script: HugeBody | GzipBomb
):
    hostile.script(script)

    error = await fail(limited, hostile.url + "/v1/chat/completions", use_stream=False)

    assert error.message == (
        "Provider 'fake' sent a response body larger than server.max_response_bytes "
        "(1048576 bytes, after decompression)"
    )


async def test_an_error_body_of_a_stream_has_the_same_limit(limited: HttpClient, hostile: HostileUpstream):
    hostile.script(GzipBomb(64 * 1024 * 1024))

    async with limited.stream(hostile.url + "/v1/chat/completions", JSON, OPENAI_STREAM_BODY) as stream:
        with pytest.raises(GatewayError) as caught:
            await stream.read()

    assert "server.max_response_bytes (1048576 bytes" in caught.value.message


async def test_a_compressed_body_within_the_limit_is_decoded(limited: HttpClient, hostile: HostileUpstream):
    hostile.script(GzipBomb(1024 * 1024))

    response = await limited.post(hostile.url + "/v1/chat/completions", JSON, OPENAI_BODY)

    assert response.body == bytes(1024 * 1024)


@pytest.mark.parametrize("script", [HugeLine(50 * 1024 * 1024), GzipBomb(64 * 1024 * 1024, stream=True)],
                         ids=["plain", "gzip-bomb"])
async def test_a_stream_line_over_max_sse_line_bytes_is_refused(
    limited: HttpClient, hostile: HostileUpstream, script: HugeLine | GzipBomb
):
    hostile.script(script)

    error = await fail(limited, hostile.url + "/v1/chat/completions", use_stream=True)

    assert error.message == (
        "Provider 'fake' sent a stream line longer than server.max_sse_line_bytes (262144 bytes)"
    )
    assert isinstance(script, GzipBomb) or await hostile_gone(hostile)


async def test_a_stream_longer_than_stream_max_is_cut(limited: HttpClient, hostile: HostileUpstream):
    hostile.script(Endless(interval=0.01))
    seen: list[SSEFrame] = []

    with pytest.raises(GatewayError) as caught:
        async with limited.stream(hostile.url + "/v1/chat/completions", JSON, OPENAI_STREAM_BODY) as stream:
            async for frames in stream.frames():
                seen += frames

    assert caught.value.message == (
        "Provider 'fake' kept a stream open longer than timeouts.stream_max (0.5 s); it was cut"
    )
    assert (caught.value.kind, caught.value.client_status) == (ErrorKind.PROTOCOL, 502)
    assert len(seen) > 10
    assert await hostile_gone(hostile)


async def test_no_stream_max_by_default(client: HttpClient, upstream: FakeUpstream):
    upstream.script(sse_fixture("openai/stream_text_with_usage.sse", delay_ms=5))

    frames = await stream_frames(client, chat_url(upstream), OPENAI_STREAM_BODY)

    assert frames == sse_frames("openai/stream_text_with_usage.sse")


@pytest.mark.parametrize("use_stream", [False, True], ids=["post", "stream"])
async def test_a_malformed_header_quoting_the_key_is_not_quoted_back(
    limited: HttpClient, hostile: HostileUpstream, use_stream: bool
):
    hostile.script(BadHeader())
    headers = {**JSON, "authorization": f"Bearer {KEY}"}

    with pytest.raises(GatewayError) as caught:
        if use_stream:
            async with limited.stream(hostile.url + "/v1/chat/completions", headers, OPENAI_STREAM_BODY):
                pass
        else:
            await limited.post(hostile.url + "/v1/chat/completions", headers, OPENAI_BODY)

    assert KEY[:12] not in caught.value.message
    assert caught.value.message.startswith("Provider 'fake' ")


async def test_an_unsupported_content_encoding_is_named(limited: HttpClient, hostile: HostileUpstream):
    hostile.script(Status(200, {"content-encoding": "br", "content-length": "2"}))

    with pytest.raises(GatewayError) as caught:
        await limited.post(hostile.url + "/v1/chat/completions", JSON, OPENAI_BODY)

    assert caught.value.message == (
        "Provider 'fake' sent an unreadable response: unsupported content-encoding 'br'"
    )


async def hostile_gone(hostile: HostileUpstream) -> bool:
    """The client closed the connection before the fake finished its answer."""
    return await FakeUpstream().wait_for(lambda: hostile.disconnects >= 1, timeout=2.0)
