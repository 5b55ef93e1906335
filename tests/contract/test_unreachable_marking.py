"""Every HTTP client marks the failures met while connecting as ``unreachable``: they say the
provider itself cannot be reached (its circuit opens every deployment of it), where a failure
after the connection was made speaks only of the model that was asked."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import get_args

import pytest

from adapters.outbound.http import ClientKind, HttpClient, PoolLimits, Timeouts, create_http_client
from domain.errors import ErrorKind, GatewayError
from tests.fakes.upstream import FakeUpstream, Refuse, Stall

TIMEOUTS = Timeouts(connect=0.3, read=0.2, total=1.0)
CLIENTS = list(get_args(ClientKind))
JSON = {"content-type": "application/json"}
OPENAI_BODY = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}'


def chat_url(upstream: FakeUpstream) -> str:
    return upstream.url + "/v1/chat/completions"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def upstream() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as fake:
        yield fake


async def failure(client: HttpClient, url: str) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        try:
            await client.post(url, JSON, OPENAI_BODY)
        finally:
            await client.aclose()
    return caught.value


@pytest.mark.parametrize("kind", CLIENTS)
async def test_a_refused_connection_is_unreachable(kind: str) -> None:
    client = create_http_client(kind, name="up", timeouts=TIMEOUTS)  # type: ignore[arg-type]
    error = await failure(client, f"http://127.0.0.1:{closed_port()}/v1/chat/completions")
    assert (error.kind, error.unreachable) == (ErrorKind.UNAVAILABLE, True)


@pytest.mark.parametrize("kind", CLIENTS)
async def test_a_failed_tls_handshake_is_unreachable(kind: str) -> None:
    async def not_tls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")  # plain text where a TLS handshake belongs
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(not_tls, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = create_http_client(kind, name="up", timeouts=TIMEOUTS)  # type: ignore[arg-type]
    try:
        error = await failure(client, f"https://127.0.0.1:{port}/v1/chat/completions")
    finally:
        server.close()
    assert (error.kind, error.unreachable) == (ErrorKind.UNAVAILABLE, True)


@pytest.mark.parametrize("kind", CLIENTS)
async def test_no_free_connection_within_the_connect_timeout_is_unreachable(kind: str, upstream: FakeUpstream) -> None:
    client = create_http_client(kind, name="up", timeouts=Timeouts(connect=0.1, read=2, total=3),  # type: ignore[arg-type]
                                limits=PoolLimits(max_connections=1))
    upstream.script(Stall(1.0))
    held = asyncio.ensure_future(client.post(chat_url(upstream), JSON, OPENAI_BODY))  # the one connection
    await asyncio.sleep(0.05)
    try:
        error = await failure(client, chat_url(upstream))
    finally:
        held.cancel()
        await asyncio.gather(held, return_exceptions=True)
    assert (error.kind, error.unreachable) == (ErrorKind.TIMEOUT, True)


@pytest.mark.parametrize("kind", CLIENTS)
async def test_failures_after_the_connection_was_made_are_not_unreachable(kind: str, upstream: FakeUpstream) -> None:
    upstream.script(Refuse(), Stall(1.0))
    closed = await failure(create_http_client(kind, name="up", timeouts=TIMEOUTS), chat_url(upstream))  # type: ignore[arg-type]
    stalled = await failure(create_http_client(kind, name="up", timeouts=TIMEOUTS), chat_url(upstream))  # type: ignore[arg-type]
    assert (closed.kind, closed.unreachable) == (ErrorKind.UNAVAILABLE, False)
    assert (stalled.kind, stalled.unreachable) == (ErrorKind.TIMEOUT, False)
