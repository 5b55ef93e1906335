"""HttpxClient driven by pytest-httpx: bodies, line splitting, statuses and error mapping."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable

import httpx
import pytest
from pytest_httpx import HTTPXMock, IteratorStream

from adapters.outbound.http import PoolLimits, Timeouts
from adapters.outbound.http.httpx_client import HttpxClient
from adapters.protocols.sse import SSEFrame
from domain.errors import ErrorKind, GatewayError
from tests.conftest import fixture_bytes, sse_frames

URL = "https://api.example.test/v1/chat/completions"
HEADERS = {"authorization": "Bearer sk-test", "content-type": "application/json"}
BODY = b'{"model":"gpt-4o-mini","messages":[]}'
TIMEOUTS = Timeouts(connect=0.3, read=0.2, total=0.5)


@pytest.fixture
async def client() -> AsyncIterator[HttpxClient]:
    http = HttpxClient(name="openai", timeouts=TIMEOUTS, limits=PoolLimits())
    yield http
    await http.aclose()


class FailingStream(httpx.AsyncByteStream):
    """Yields ``chunks``, then fails as a reset connection would."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = list(chunks)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk
        raise httpx.ReadError("[Errno 104] Connection reset by peer")


async def collect_frames_from(client: HttpxClient, url: str) -> list[SSEFrame]:
    async with client.stream(url, HEADERS, BODY) as stream:
        return [frame async for frames in stream.frames() for frame in frames]


async def collect_frames(client: HttpxClient) -> list[SSEFrame]:
    return await collect_frames_from(client, URL)


async def test_post_returns_status_lowercase_headers_and_body(client: HttpxClient, httpx_mock: HTTPXMock):
    body = fixture_bytes("openai/chat_text.json")
    httpx_mock.add_response(
        url=URL,
        method="POST",
        content=body,
        headers={"Content-Type": "application/json", "X-Request-Id": "r1"},
    )

    response = await client.post(URL, HEADERS, BODY)

    assert response.status == 200
    assert response.body == body
    assert response.headers["x-request-id"] == "r1"
    assert {"content-type", "x-request-id"} <= set(response.headers)
    sent = httpx_mock.get_request()
    assert sent.content == BODY
    assert sent.headers["authorization"] == "Bearer sk-test"


async def test_post_error_status_is_returned_with_its_body(client: HttpxClient, httpx_mock: HTTPXMock):
    body = fixture_bytes("openai/error_429.json")
    httpx_mock.add_response(status_code=429, content=body, headers={"Retry-After": "7"})

    response = await client.post(URL, HEADERS, BODY)

    assert (response.status, response.body, response.headers["retry-after"]) == (429, body, "7")


async def test_stream_frames_survive_awkward_chunk_boundaries(client: HttpxClient, httpx_mock: HTTPXMock):
    chunks = [b"event: a\r", b'\ndata: {"x":', b"1}\r\n\r", b"\n"]
    chunks += [b"data: two\rdata: three\n\nda", b"ta: tail"]
    httpx_mock.add_response(stream=IteratorStream(chunks))

    frames = await collect_frames(client)

    assert frames == [SSEFrame(b"a", b'{"x":1}'), SSEFrame(None, b"two\nthree"), SSEFrame(None, b"tail")]


async def test_stream_final_lone_carriage_return_ends_the_last_line(
    client: HttpxClient, httpx_mock: HTTPXMock
):
    httpx_mock.add_response(stream=IteratorStream([b"data: a\r\n\r\ndata: b\r"]))

    assert await collect_frames(client) == [SSEFrame(None, b"a"), SSEFrame(None, b"b")]


@pytest.mark.parametrize("name", ["openai/stream_text_with_usage.sse", "anthropic/stream_thinking.sse"])
async def test_stream_recorded_fixture_in_small_chunks_yields_its_frames(
    client: HttpxClient, httpx_mock: HTTPXMock, name: str
):
    data = fixture_bytes(name)
    httpx_mock.add_response(stream=IteratorStream([data[i : i + 7] for i in range(0, len(data), 7)]))

    assert await collect_frames(client) == sse_frames(name)


async def test_stream_error_status_body_is_readable(client: HttpxClient, httpx_mock: HTTPXMock):
    body = fixture_bytes("anthropic/error_529_overloaded.json")
    httpx_mock.add_response(status_code=529, content=body)

    async with client.stream(URL, HEADERS, BODY) as stream:
        assert stream.status == 529
        assert await stream.read() == body


@pytest.mark.parametrize("use_stream", [False, True], ids=["post", "stream"])
async def test_connect_error_is_unavailable_naming_the_provider(
    client: HttpxClient, httpx_mock: HTTPXMock, use_stream: bool
):
    httpx_mock.add_exception(httpx.ConnectError("[Errno 111] Connection refused"))

    with pytest.raises(GatewayError) as caught:
        if use_stream:
            await collect_frames(client)
        else:
            await client.post(URL, HEADERS, BODY)

    error = caught.value
    assert (error.kind, error.provider) == (ErrorKind.UNAVAILABLE, "openai")
    assert error.message == "Provider 'openai' is unreachable: [Errno 111] Connection refused"


async def test_server_disconnect_is_unavailable(client: HttpxClient, httpx_mock: HTTPXMock):
    httpx_mock.add_exception(httpx.RemoteProtocolError("Server disconnected without sending a response."))

    with pytest.raises(GatewayError) as caught:
        await client.post(URL, HEADERS, BODY)

    assert caught.value.kind is ErrorKind.UNAVAILABLE


async def test_error_message_keeps_no_url_query_or_credentials(client: HttpxClient, httpx_mock: HTTPXMock):
    message = "cannot reach https://user:pw@api.example.test/v1?key=SECRET"
    httpx_mock.add_exception(httpx.ConnectError(message))

    with pytest.raises(GatewayError) as caught:
        await client.post(URL, HEADERS, BODY)

    assert "SECRET" not in caught.value.message and "pw" not in caught.value.message
    assert caught.value.message.endswith("cannot reach https://api.example.test")


@pytest.mark.parametrize(
    ("exception", "seconds"),
    [(httpx.ReadTimeout("timed out"), 0.2), (httpx.ConnectTimeout("timed out"), 0.3)],
    ids=["read", "connect"],
)
async def test_timeout_is_timeout_with_the_bound_that_expired(
    client: HttpxClient, httpx_mock: HTTPXMock, exception: Exception, seconds: float
):
    httpx_mock.add_exception(exception)

    with pytest.raises(GatewayError) as caught:
        await client.post(URL, HEADERS, BODY)

    assert caught.value.kind is ErrorKind.TIMEOUT
    assert caught.value.message == f"Provider 'openai' did not answer within {seconds:g} s"


async def test_total_timeout_bounds_a_non_stream_exchange(client: HttpxClient, httpx_mock: HTTPXMock):
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(2)
        return httpx.Response(200)

    httpx_mock.add_callback(slow)

    with pytest.raises(GatewayError) as caught:
        await client.post(URL, HEADERS, BODY)

    assert caught.value.kind is ErrorKind.TIMEOUT
    assert caught.value.message == "Provider 'openai' did not answer within 0.5 s"


async def test_failure_mid_stream_is_raised_from_frames_as_unavailable(
    client: HttpxClient, httpx_mock: HTTPXMock
):
    httpx_mock.add_response(stream=FailingStream([b"data: one\n\n", b"data: tw"]))
    seen: list[SSEFrame] = []

    with pytest.raises(GatewayError) as caught:
        async with client.stream(URL, HEADERS, BODY) as stream:
            async for frames in stream.frames():
                seen += frames

    assert seen == [SSEFrame(None, b"one")]
    assert (caught.value.kind, caught.value.provider) == (ErrorKind.UNAVAILABLE, "openai")


@pytest.mark.parametrize("url", ["api.example.test/v1/chat/completions", "https://api.exa\x00mple.test/v1"])
async def test_unusable_url_is_a_configuration_error(client: HttpxClient, url: str):
    with pytest.raises(GatewayError) as caught:
        await client.post(url, HEADERS, BODY)
    with pytest.raises(GatewayError) as caught_on_stream:
        await collect_frames_from(client, url)

    assert caught.value.kind is caught_on_stream.value.kind is ErrorKind.CONFIGURATION


async def test_aclose_before_use_and_twice_is_fine():
    http = HttpxClient(name="openai", timeouts=TIMEOUTS, limits=PoolLimits())
    await http.aclose()
    await http.aclose()
