"""What the hand-written HTTP/1.1 client must get right beyond the shared contract, against a
raw socket server that answers with exactly the bytes each test scripts."""

from __future__ import annotations

import asyncio
import gzip
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from adapters.outbound.http import PoolLimits, Timeouts
from adapters.outbound.http.h1_connection import HIGH_WATER
from adapters.outbound.http.httptools_client import HttptoolsClient
from adapters.protocols.sse import SSEFrame
from domain.errors import ErrorKind, GatewayError
from tests.contract.test_http_clients import closed_port

TIMEOUTS = Timeouts(connect=0.5, read=0.3, total=1.0)
BODY = b'{"model":"m","messages":[]}'
HEADERS = {"content-type": "application/json", "authorization": "Bearer sk-up"}

Answer = Callable[[bytes], bytes | None]  # request bytes -> response bytes (None: hang up)


class RawServer:
    """Answers each request on a connection with the next scripted response, byte for byte."""

    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.requests: list[bytes] = []
        self.connections = 0
        self.writers: list[asyncio.StreamWriter] = []
        self.url = ""

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/v1/chat/completions"
        return self

    async def __aexit__(self, *_: object) -> None:
        for writer in self.writers:
            writer.close()
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                answer = self.answers.pop(0)(request) if self.answers else ok(b"{}")
                if asyncio.iscoroutine(answer):
                    answer = await answer
                if answer is None:
                    writer.close()
                    return
                writer.write(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


def ok(body: bytes, *extra: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\n" + b"".join(extra) + b"Content-Length: %d\r\n\r\n" % len(body) + body


def answer(raw: bytes) -> Answer:
    return lambda _request: raw


@pytest.fixture
async def server() -> AsyncIterator[RawServer]:
    async with RawServer() as raw:
        yield raw


@pytest.fixture
async def client() -> AsyncIterator[HttptoolsClient]:
    http = HttptoolsClient(name="up", timeouts=TIMEOUTS, limits=PoolLimits())
    yield http
    await http.aclose()


async def test_request_head_carries_host_length_agent_and_the_given_headers(
    client: HttptoolsClient, server: RawServer
):
    await client.post(server.url + "?api-version=2024-10-21", HEADERS, BODY)

    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v1/chat/completions?api-version=2024-10-21 HTTP/1.1"
    assert set(lines[1:]) == {
        b"Host: " + server.url.split("/")[2].encode(),
        b"content-type: application/json",
        b"authorization: Bearer sk-up",
        b"User-Agent: poly-llm-gateway",
        b"Content-Length: %d" % len(BODY),
    }
    assert body == BODY


async def test_given_length_host_and_connection_headers_are_replaced_not_doubled(
    client: HttptoolsClient, server: RawServer
):
    await client.post(
        server.url, {"Content-Length": "1", "Host": "evil", "Connection": "close", "User-Agent": "me"}, BODY
    )

    head = server.requests[0].split(b"\r\n\r\n")[0].lower()
    assert head.count(b"content-length") == head.count(b"host:") == head.count(b"user-agent") == 1
    assert b"evil" not in head and b"connection" not in head and b"user-agent: me" in head


@pytest.mark.parametrize("value", ["a\r\nx-injected: 1", "a\nb", "a\rb", "a\0b"])
async def test_a_header_with_a_line_break_or_nul_is_refused_unsent(
    client: HttptoolsClient, server: RawServer, value: str
):
    with pytest.raises(GatewayError) as caught:
        await client.post(server.url, {"x-key": value}, BODY)

    assert caught.value.kind is ErrorKind.CONFIGURATION
    assert server.requests == []


async def test_credentials_in_the_url_are_refused(client: HttptoolsClient, server: RawServer):
    with pytest.raises(GatewayError) as caught:
        await client.post(server.url.replace("http://", "http://user:secret@"), HEADERS, BODY)

    assert caught.value.kind is ErrorKind.CONFIGURATION
    assert "secret" not in caught.value.message


async def test_gzip_and_deflate_bodies_are_decoded(client: HttptoolsClient, server: RawServer):
    import zlib

    server.answers += [
        answer(ok(gzip.compress(b'{"a":1}'), b"Content-Encoding: gzip\r\n")),
        answer(ok(zlib.compress(b'{"b":2}'), b"Content-Encoding: deflate\r\n")),
    ]

    assert (await client.post(server.url, HEADERS, BODY)).body == b'{"a":1}'
    assert (await client.post(server.url, HEADERS, BODY)).body == b'{"b":2}'


async def test_an_unknown_content_encoding_is_an_unreadable_response(
    client: HttptoolsClient, server: RawServer
):
    server.answers.append(answer(ok(b"xx", b"Content-Encoding: br\r\n")))

    with pytest.raises(GatewayError) as caught:
        await client.post(server.url, HEADERS, BODY)

    assert caught.value.kind is ErrorKind.PROTOCOL


async def test_a_body_delimited_by_the_connection_end_is_complete(client: HttptoolsClient, server: RawServer):
    server.answers.append(answer(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b'{"whole":true}'))

    async def close_soon() -> None:
        await asyncio.sleep(0.05)
        for writer in server.writers:
            writer.close()

    closer = asyncio.create_task(close_soon())
    response = await client.post(server.url, HEADERS, BODY)
    await closer

    assert response.body == b'{"whole":true}'


async def test_informational_responses_are_skipped(client: HttptoolsClient, server: RawServer):
    server.answers.append(
        answer(b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n" + ok(b"{}", b"X-Real: yes\r\n"))
    )

    response = await client.post(server.url, HEADERS, BODY)

    assert (response.status, response.body, response.headers.get("x-real")) == (200, b"{}", "yes")
    assert "link" not in response.headers


async def test_repeated_headers_are_joined_and_names_lower_cased(client: HttptoolsClient, server: RawServer):
    server.answers.append(answer(ok(b"{}", b"X-Thing: a\r\n", b"x-thing: b\r\n", b"Retry-After: 3\r\n")))

    response = await client.post(server.url, HEADERS, BODY)

    assert response.headers["x-thing"] == "a, b"
    assert response.headers["retry-after"] == "3"


async def test_connection_close_answer_is_not_reused(client: HttptoolsClient, server: RawServer):
    server.answers.append(answer(ok(b"{}", b"Connection: close\r\n")))

    await client.post(server.url, HEADERS, BODY)
    await client.post(server.url, HEADERS, BODY)

    assert server.connections == 2


async def test_a_connection_the_server_closed_while_idle_is_not_used(
    client: HttptoolsClient, server: RawServer
):
    await client.post(server.url, HEADERS, BODY)
    for writer in server.writers:
        writer.close()
    await asyncio.sleep(0.05)

    assert (await client.post(server.url, HEADERS, BODY)).status == 200
    assert server.connections == 2


async def test_an_idle_connection_past_its_expiry_is_replaced(server: RawServer):
    client = HttptoolsClient(name="up", timeouts=TIMEOUTS, limits=PoolLimits(keepalive_expiry=0.05))
    try:
        await client.post(server.url, HEADERS, BODY)
        await asyncio.sleep(0.1)
        await client.post(server.url, HEADERS, BODY)
    finally:
        await client.aclose()

    assert server.connections == 2


async def test_requests_beyond_the_connection_limit_wait_for_a_free_one(server: RawServer):
    client = HttptoolsClient(name="up", timeouts=TIMEOUTS, limits=PoolLimits(max_connections=2))
    try:
        answers = await asyncio.gather(*(client.post(server.url, HEADERS, BODY) for _ in range(6)))
    finally:
        await client.aclose()

    assert [a.status for a in answers] == [200] * 6
    assert server.connections == 2


async def test_waiting_for_a_connection_counts_against_the_connect_timeout(server: RawServer):
    timeouts = Timeouts(connect=0.1, read=1.0, total=2.0)
    client = HttptoolsClient(name="up", timeouts=timeouts, limits=PoolLimits(max_connections=1))
    server.answers.append(lambda _r: b"")  # no answer: the one connection stays busy
    try:
        held = asyncio.create_task(client.post(server.url, HEADERS, BODY))
        await asyncio.sleep(0.02)
        with pytest.raises(GatewayError) as caught:
            await client.post(server.url, HEADERS, BODY)
        held.cancel()
    finally:
        await client.aclose()

    assert caught.value.kind is ErrorKind.TIMEOUT
    assert caught.value.message == "Provider 'up' did not answer within 0.1 s"


async def test_a_slow_reader_pauses_the_socket_instead_of_buffering(
    client: HttptoolsClient, server: RawServer
):
    big = b"data: " + b"x" * 1000 + b"\n\n"
    frames = 2000  # ~2 MB, far above the high-water mark
    body = big * frames
    server.answers.append(answer(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body))

    async with client.stream(server.url, HEADERS, BODY) as stream:
        conn = stream._conn
        assert conn is not None
        await asyncio.sleep(0.2)  # the upstream has sent all it can; we read nothing
        assert conn._paused and conn._buffered <= HIGH_WATER + 256 * 1024  # plus at most one read
        read = [frame async for batch in stream.frames() for frame in batch]

    assert len(read) == frames


async def test_a_slow_reader_is_not_timed_out_for_its_own_slowness(
    client: HttptoolsClient, server: RawServer
):
    server.answers.append(answer(b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\ndata: a\n\ndat"))

    async with client.stream(server.url, HEADERS, BODY) as stream:
        await asyncio.sleep(0.5)  # longer than the read timeout, but the bytes are here, unread
        batches = stream.frames()
        assert await anext(batches) == [SSEFrame(None, b"a")]
        with pytest.raises(GatewayError) as caught:  # then the upstream really stalls
            await anext(batches)

    assert caught.value.kind is ErrorKind.TIMEOUT


async def test_bytes_outside_an_exchange_close_the_connection(client: HttptoolsClient, server: RawServer):
    server.answers.append(answer(ok(b"{}") + b"HTTP/1.1 200 OK\r\n"))  # a stray extra answer

    assert (await client.post(server.url, HEADERS, BODY)).status == 200
    await asyncio.sleep(0.05)
    assert (await client.post(server.url, HEADERS, BODY)).status == 200

    assert server.connections == 2


async def test_a_second_answer_in_the_same_packet_leaves_the_first_intact(
    client: HttptoolsClient, server: RawServer
):
    server.answers.append(
        answer(
            ok(b'{"a":1}', b"X-A: 1\r\n") + b'HTTP/1.1 500 Oops\r\nX-A: 2\r\nContent-Length: 7\r\n\r\n{"b":2}'
        )
    )

    first = await client.post(server.url, HEADERS, BODY)
    second = await client.post(server.url, HEADERS, BODY)

    assert (first.status, first.body, first.headers["x-a"], first.headers["content-length"]) == (
        200,
        b'{"a":1}',
        "1",
        "7",
    )
    assert second.status == 200
    assert server.connections == 2  # the out-of-step connection was not reused


async def test_a_body_above_the_high_water_mark_leaves_a_reusable_connection(
    client: HttptoolsClient, server: RawServer
):
    big = b'{"data":"' + b"x" * (HIGH_WATER + 200_000) + b'"}'
    server.answers += [answer(ok(big)), answer(ok(gzip.compress(big), b"Content-Encoding: gzip\r\n"))]

    assert (await client.post(server.url, HEADERS, BODY)).body == big
    assert (await client.post(server.url, HEADERS, BODY)).body == big
    assert (await client.post(server.url, HEADERS, BODY)).status == 200  # not paused: answered at once

    assert server.connections == 1


async def test_reading_a_whole_stream_body_times_out_when_the_upstream_stalls(
    client: HttptoolsClient, server: RawServer
):
    server.answers.append(answer(b"HTTP/1.1 500 Oops\r\nContent-Length: 100\r\n\r\n" + b'{"error":'))

    async with client.stream(server.url, HEADERS, BODY) as stream:
        with pytest.raises(GatewayError) as caught:
            await asyncio.wait_for(stream.read(), 3)

    assert caught.value.kind is ErrorKind.TIMEOUT


async def test_a_truncated_gzip_body_is_unreadable(client: HttptoolsClient, server: RawServer):
    server.answers.append(answer(ok(gzip.compress(b'{"a":1}' * 100)[:20], b"Content-Encoding: gzip\r\n")))

    with pytest.raises(GatewayError) as caught:
        await client.post(server.url, HEADERS, BODY)

    assert caught.value.kind is ErrorKind.PROTOCOL


@pytest.mark.parametrize("name", ["x key", "x:key", "x\tkey", ""])
async def test_a_header_name_that_is_not_a_token_is_refused_unsent(
    client: HttptoolsClient, server: RawServer, name: str
):
    with pytest.raises(GatewayError) as caught:
        await client.post(server.url, {name: "v"}, BODY)

    assert caught.value.kind is ErrorKind.CONFIGURATION
    assert server.requests == []


async def test_a_failed_connect_hands_its_slot_to_a_waiting_request():
    timeouts = Timeouts(connect=0.5, read=1.0, total=2.0)
    client = HttptoolsClient(name="up", timeouts=timeouts, limits=PoolLimits(max_connections=1))
    url = f"http://127.0.0.1:{closed_port()}/v1/chat/completions"
    try:
        results = await asyncio.gather(
            *(client.post(url, HEADERS, BODY) for _ in range(3)), return_exceptions=True
        )
    finally:
        await client.aclose()

    assert [r.kind for r in results] == [ErrorKind.UNAVAILABLE] * 3  # none waited out the connect timeout


async def test_a_woken_waiter_that_is_cancelled_passes_its_turn_on(server: RawServer):
    async def slow(_request: bytes) -> bytes:
        await asyncio.sleep(0.1)
        return ok(b"{}")

    server.answers.append(slow)
    client = HttptoolsClient(name="up", timeouts=TIMEOUTS, limits=PoolLimits(max_connections=1))
    holder = asyncio.create_task(client.post(server.url, HEADERS, BODY))
    await asyncio.sleep(0.02)
    woken = asyncio.create_task(client.post(server.url, HEADERS, BODY))
    waiting = asyncio.create_task(client.post(server.url, HEADERS, BODY))
    await asyncio.sleep(0.02)
    pool = client._pool
    first_waiter = pool._waiters[0]
    wake_one = pool._wake_one

    def wake_then_leave() -> None:  # the woken request's client leaves before it runs
        wake_one()
        if first_waiter.done() and not woken.done():
            woken.cancel()

    pool._wake_one = wake_then_leave  # type: ignore[method-assign]
    try:
        await holder
        assert (await asyncio.wait_for(waiting, 2)).status == 200
        assert woken.cancelled()
    finally:
        await client.aclose()


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl ships with every Debian)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


async def test_https_verifies_the_server_and_keeps_the_connection(certificate: tuple[Path, Path]):
    cert, key = certificate
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)
    requests: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while head := await reader.readuntil(b"\r\n\r\n"):
            requests.append(head + await reader.readexactly(len(BODY)))
            writer.write(ok(b'{"tls":true}'))
            await writer.drain()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=served)
    url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1/chat/completions"
    trusting = HttptoolsClient(name="up", timeouts=TIMEOUTS, limits=PoolLimits())
    trusting._pool._tls = ssl.create_default_context(cafile=str(cert))
    untrusting = HttptoolsClient(name="up", timeouts=TIMEOUTS, limits=PoolLimits())
    try:
        first = await trusting.post(url, HEADERS, BODY)
        second = await trusting.post(url, HEADERS, BODY)
        with pytest.raises(GatewayError) as caught:  # the system's CAs do not know this certificate
            await untrusting.post(url, HEADERS, BODY)
    finally:
        await trusting.aclose()
        await untrusting.aclose()
        server.close()

    assert (first.body, second.body) == (b'{"tls":true}', b'{"tls":true}')
    assert len(requests) == 2 and requests[0].startswith(b"POST /v1/chat/completions HTTP/1.1\r\n")
    assert caught.value.kind is ErrorKind.UNAVAILABLE
    assert "CERTIFICATE_VERIFY_FAILED" in caught.value.message
