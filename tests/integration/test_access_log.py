"""One access-log line per request, with the route and usage, and never a secret."""

from __future__ import annotations

from litestar.testing import AsyncTestClient
from pytest_httpx import HTTPXMock, IteratorStream
from structlog.testing import capture_logs

from tests.conftest import fixture_bytes
from tests.integration.conftest import ANTHROPIC_KEY, ANTHROPIC_URL, OPENAI_KEY, OPENAI_URL, sse


async def test_non_stream_line_has_route_status_and_tokens(gateway: AsyncTestClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=OPENAI_URL, content=fixture_bytes("openai/chat_text.json"))
    with capture_logs() as logs:
        await gateway.post(
            "/openai/v1/chat/completions",
            json={"model": "claude-haiku-4.5", "messages": [{"role": "user", "content": "secret prompt"}]},
            headers={"x-request-id": "req-1", "authorization": "Bearer client-secret"},
        )
    (line,) = [entry for entry in logs if entry["event"] == "request.completed"]
    assert line["request_id"] == "req-1"
    assert line["status"] == 200
    assert (line["app"], line["frontdoor"], line["provider"]) == ("oa", "openai", "openai")
    assert (line["model"], line["upstream_model"], line["alias"]) == ("claude-haiku-4.5", "gpt-5-mini", "claude-haiku-4.5")
    assert line["stream"] is False
    assert (line["input_tokens"], line["output_tokens"]) == (17, 23)
    assert line["duration_ms"] >= 0 and line["ttfb_ms"] is not None
    text = repr(logs)
    for secret in (OPENAI_KEY, ANTHROPIC_KEY, "client-secret", "secret prompt"):
        assert secret not in text


async def test_stream_line_is_written_at_the_end_with_usage(gateway: AsyncTestClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=ANTHROPIC_URL, stream=IteratorStream(sse(fixture_bytes("anthropic/stream_text.sse"))))
    with capture_logs() as logs:
        await gateway.post(
            "/anthropic/v1/messages",
            json={"model": "claude-sonnet-4-5", "max_tokens": 10, "stream": True, "messages": [{"role": "user", "content": "hi"}]},
        )
    (line,) = [entry for entry in logs if entry["event"] == "request.completed"]
    assert line["stream"] is True and line["status"] == 200
    assert (line["input_tokens"], line["output_tokens"]) == (31, 19)


async def test_not_found_is_logged_with_an_id(gateway: AsyncTestClient) -> None:
    with capture_logs() as logs:
        response = await gateway.get("/nowhere")
    assert response.status_code == 404
    (line,) = [entry for entry in logs if entry["event"] == "request.completed"]
    assert line["status"] == 404 and line["request_id"] == response.headers["x-request-id"]
