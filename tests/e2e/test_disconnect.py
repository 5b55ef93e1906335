"""Clients that go away cost nothing: their upstream requests are cancelled at once and leave
no open upstream connection and no task behind.

The gateway runs in the test's own event loop (``uvicorn.Server`` over ``build_asgi``) so that
its tasks can be counted; the fake upstream runs in a thread with its own loop, so its tasks
are not.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.launcher import serve_in_process
from tests.fakes.upstream import FakeUpstream, Fixtures, Stall, fixture_frames

STREAMS = 300
CONCURRENCY = 30
TASK_SLACK = 3  # tasks that may legitimately come and go (a pool's cleanup, a keep-alive timer)
HELLO = [{"role": "user", "content": "Hello!"}]
OPENAI_PATH = "/openai/v1/chat/completions"
OPENAI_FRAMES = len(fixture_frames("openai/stream_text_with_usage.sse"))
ANTHROPIC_FRAMES = len(fixture_frames("anthropic/stream_text.sse"))


def disconnect_config(upstream: str, http_client: str) -> str:
    return f"""
server: {{http_client: {http_client}, log_level: warning, access_log: false, watch_config_seconds: 0}}
apps:
  - {{name: oa, frontdoor: openai, path: /openai}}
  - {{name: an, frontdoor: anthropic, path: /anthropic}}
providers:
  - name: up_openai
    type: openai
    api_key: sk-up
    base_url: {upstream}/v1
    timeouts: {{connect: 2, first_byte: 30, idle: 30, total: 60}}
    retries: {{attempts: 1}}
    circuit_breaker: {{enabled: false}}
  - name: up_anthropic
    type: anthropic
    api_key: sk-up
    base_url: {upstream}
    timeouts: {{connect: 2, first_byte: 30, idle: 30, total: 60}}
    retries: {{attempts: 1}}
    circuit_breaker: {{enabled: false}}
routing:
  rules:
    - {{model_prefix: gpt-, provider: up_openai}}
    - {{model_prefix: claude-, provider: up_anthropic}}
    - {{model_prefix: cross-, provider: up_anthropic, model: claude-e2e}}
"""


# (path, body) of a request; streams alternate between the three ways through the gateway.
def _request(i: int, *, stream: bool) -> tuple[str, dict[str, object]]:
    match i % 3:
        case 0:
            return OPENAI_PATH, {"model": "gpt-4o-mini", "messages": HELLO, "stream": stream}
        case 1:
            body = {"model": "claude-e2e", "max_tokens": 64, "messages": HELLO, "stream": stream}
            return "/anthropic/v1/messages", body
        case _:
            return OPENAI_PATH, {"model": "cross-model", "messages": HELLO, "stream": stream}


@pytest.fixture(scope="module")
def upstream_thread() -> Iterator[FakeUpstream]:
    server = FakeUpstream().start_in_thread()
    yield server
    server.stop()


@pytest.fixture
def upstream(upstream_thread: FakeUpstream) -> FakeUpstream:
    return upstream_thread.reset()


# (outbound HTTP client, server protocol): ours calls the access-log layer back on a lost
# connection; uvicorn's own protocol has the layer's watcher task notice it instead
@pytest.fixture(params=[("httptools", True), ("httpx", True), ("httptools", False)],
                ids=["httptools-gateway-http", "httpx-gateway-http", "httptools-uvicorn-http"])  # fmt: skip
async def gateway(
    request: pytest.FixtureRequest, upstream: FakeUpstream, tmp_path: Path
) -> AsyncIterator[str]:
    client, gateway_http = request.param
    async with serve_in_process(disconnect_config(upstream.url, client), tmp_path, gateway_http) as url:
        yield url


async def _settle(predicate, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def _abort_after_first_chunk(client: httpx.AsyncClient, i: int) -> None:
    path, body = _request(i, stream=True)
    async with client.stream("POST", path, json=body) as response:
        assert response.status_code == 200
        async for _ in response.aiter_raw():
            break  # leaving the block closes the response, and the connection with it


async def test_hundreds_of_aborted_streams_leave_no_upstream_connection_and_no_task(
    gateway: str, upstream: FakeUpstream
) -> None:
    # Slow streams (over 20 frames, 40 ms apart): every client leaves in the middle.
    upstream.default = Fixtures(delay_ms=40)
    async with httpx.AsyncClient(base_url=gateway, timeout=10) as client:
        await _abort_after_first_chunk(client, 0)  # warm-up: pools, lazily started tasks
        await _settle(lambda: upstream.open_connections == 0)
        tasks_before = len(asyncio.all_tasks())
        upstream.requests.clear()

        limit = asyncio.Semaphore(CONCURRENCY)

        async def one(i: int) -> None:
            async with limit:
                await _abort_after_first_chunk(client, i)

        await asyncio.gather(*(one(i) for i in range(STREAMS)))

    assert await _settle(lambda: upstream.open_connections == 0 and upstream.in_flight == 0), (
        f"{upstream.open_connections} upstream connections open, {upstream.in_flight} requests in flight"
    )
    assert len(upstream.requests) == STREAMS
    assert upstream.disconnects == STREAMS  # every upstream saw its client go away...
    full = {"/v1/chat/completions": OPENAI_FRAMES, "/v1/messages": ANTHROPIC_FRAMES}
    assert all(r.frames_sent < full[r.path] for r in upstream.requests)  # ...in the middle
    assert await _settle(lambda: len(asyncio.all_tasks()) <= tasks_before + TASK_SLACK), (
        f"tasks: {tasks_before} before, {len(asyncio.all_tasks())} after"
    )


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream_before_first_byte"])
async def test_a_client_leaving_while_the_upstream_stalls_cancels_the_upstream_at_once(
    gateway: str, upstream: FakeUpstream, stream: bool
) -> None:
    upstream.default = Stall(30)
    clients = 20
    tasks_before = len(asyncio.all_tasks())
    async with httpx.AsyncClient(base_url=gateway, timeout=60) as client:
        calls = []
        for i in range(clients):
            path, body = _request(i, stream=stream)
            calls.append(asyncio.create_task(client.post(path, json=body)))
        assert await _settle(lambda: upstream.in_flight == clients)  # all are waiting upstream
        left = time.monotonic()
        for call in calls:
            call.cancel()  # the client gives up: httpx closes its connection
        await asyncio.gather(*calls, return_exceptions=True)
        assert await _settle(lambda: upstream.disconnects == clients, timeout=1.0)
        elapsed = time.monotonic() - left
    assert elapsed < 1.0  # at once, not after the 30 s stall or a first-byte timeout
    assert await _settle(lambda: upstream.open_connections == 0 and upstream.in_flight == 0)
    assert await _settle(lambda: len(asyncio.all_tasks()) <= tasks_before + TASK_SLACK)
