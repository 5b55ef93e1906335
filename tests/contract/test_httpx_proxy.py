"""The httpx client takes its proxy from the environment (HTTP(S)_PROXY, NO_PROXY), as users
behind a proxy expect; the httptools client talks to the upstream directly."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.outbound.http import Timeouts, create_http_client
from tests.fakes.proxy import ForwardProxy
from tests.fakes.upstream import FakeUpstream

TIMEOUTS = Timeouts(connect=1.0, read=2.0, total=5.0)
HEADERS = {"content-type": "application/json", "authorization": "Bearer sk-proxy-test"}
BODY = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}'
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture
async def upstream() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as fake:
        yield fake


@pytest.fixture
async def proxy(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ForwardProxy]:
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    async with ForwardProxy() as forward:
        monkeypatch.setenv("HTTP_PROXY", forward.url)
        yield forward


async def test_httpx_sends_requests_through_the_proxy_in_the_environment(
    proxy: ForwardProxy, upstream: FakeUpstream
):
    client = create_http_client("httpx", name="openai", timeouts=TIMEOUTS)
    url = upstream.url + "/v1/chat/completions"
    try:
        response = await client.post(url, HEADERS, BODY)
        async with client.stream(url, HEADERS, BODY.replace(b"{", b'{"stream":true,', 1)) as stream:
            frames = [frame async for batch in stream.frames() for frame in batch]
    finally:
        await client.aclose()

    assert response.status == 200 and b"chat.completion" in response.body
    assert frames[-1].data == b"[DONE]"
    assert proxy.request_lines[0] == f"POST {url} HTTP/1.1".encode()
    assert upstream.requests[0].headers["authorization"] == "Bearer sk-proxy-test"


async def test_httpx_bypasses_the_proxy_for_no_proxy_hosts(
    proxy: ForwardProxy, upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    client = create_http_client("httpx", name="openai", timeouts=TIMEOUTS)
    try:
        response = await client.post(upstream.url + "/v1/chat/completions", HEADERS, BODY)
    finally:
        await client.aclose()

    assert response.status == 200
    assert proxy.request_lines == [] and len(upstream.requests) == 1


async def test_httptools_ignores_proxy_variables(proxy: ForwardProxy, upstream: FakeUpstream):
    client = create_http_client("httptools", name="openai", timeouts=TIMEOUTS)
    try:
        response = await client.post(upstream.url + "/v1/chat/completions", HEADERS, BODY)
    finally:
        await client.aclose()

    assert response.status == 200
    assert proxy.request_lines == [] and len(upstream.requests) == 1
