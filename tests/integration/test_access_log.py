"""One access-log line per request, with the route and usage, and never a secret."""

from __future__ import annotations

import io
import logging
import re
import sys
from types import SimpleNamespace

import msgspec
import pytest
import structlog
from litestar.testing import AsyncTestClient
from structlog.testing import capture_logs

from infrastructure.logging import configure_logging, flush_logs
from tests.conftest import fixture_bytes
from tests.integration.conftest import ANTHROPIC_KEY, ANTHROPIC_URL, OPENAI_KEY, OPENAI_URL, sse
from tests.integration.upstream import UpstreamMock


async def test_non_stream_line_has_route_status_and_tokens(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    scripted.add_response(url=OPENAI_URL, content=fixture_bytes("openai/chat_text.json"))
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


async def test_stream_line_is_written_at_the_end_with_usage(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    scripted.add_response(url=ANTHROPIC_URL, stream=sse(fixture_bytes("anthropic/stream_text.sse")))
    with capture_logs() as logs:
        await gateway.post(
            "/anthropic/v1/messages",
            json={"model": "claude-sonnet-4-5", "max_tokens": 10, "stream": True, "messages": [{"role": "user", "content": "hi"}]},
        )
    (line,) = [entry for entry in logs if entry["event"] == "request.completed"]
    assert line["stream"] is True and line["status"] == 200
    assert (line["input_tokens"], line["output_tokens"]) == (31, 19)


async def test_a_response_carries_its_cost_and_its_line_logs_it(
    gateway: AsyncTestClient, scripted: UpstreamMock
) -> None:
    scripted.add_response(url=OPENAI_URL, content=fixture_bytes("openai/chat_text.json"))
    with capture_logs() as logs:
        response = await gateway.post(
            "/openai/v1/chat/completions",
            json={"model": "claude-haiku-4.5", "messages": [{"role": "user", "content": "hi"}]},
        )
    (line,) = [entry for entry in logs if entry["event"] == "request.completed"]
    # gpt-5-mini at the bundled table's 0.25 in / 2.0 out: 17 * 0.25 + 23 * 2 = 50.25 per million
    assert (response.headers["x-gateway-cost-usd"], line["cost_usd"]) == ("0.00005025", 0.00005025)


async def test_not_found_is_logged_with_an_id(gateway: AsyncTestClient) -> None:
    with capture_logs() as logs:
        response = await gateway.get("/nowhere")
    assert response.status_code == 404
    (line,) = [entry for entry in logs if entry["event"] == "request.completed"]
    assert line["status"] == 404 and line["request_id"] == response.headers["x-request-id"]


async def test_a_served_request_has_every_field_in_order(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    scripted.add_response(url=OPENAI_URL, content=fixture_bytes("openai/chat_text.json"))
    with capture_logs() as logs:
        await gateway.post("/openai/v1/chat/completions", json={"model": "claude-haiku-4.5", "messages": [{"role": "user", "content": "hi"}]})
    (line,) = [entry for entry in logs if entry["event"] == "request.completed"]
    assert list(line) == [
        "request_id", "method", "path", "status", "client_left", "duration_ms", "ttfb_ms", "app", "frontdoor",
        "model", "stream", "provider", "upstream_model", "alias", "attempts", "failed_over", "input_tokens",
        "output_tokens", "cache_read_tokens", "cost_usd", "event", "log_level",
    ]  # fmt: skip (no stream_error: the response ended well)


@pytest.mark.parametrize(("path", "app", "frontdoor"), [
    ("/openai/v1/models", "oa", "openai"),
    ("/openai/v1/models/claude-haiku-4.5", "oa", "openai"),
    ("/anthropic/v1/models", "an", "anthropic"),
    ("/anthropic/v1/models/nope", "an", "anthropic"),
    ("/anthropic/v1/nothing-here", "an", "anthropic"),
])  # fmt: skip
async def test_listings_and_unknown_paths_of_an_app_name_it(
    gateway: AsyncTestClient, path: str, app: str, frontdoor: str
) -> None:
    with capture_logs() as logs:
        await gateway.get(path)
    (line,) = [entry for entry in logs if entry["event"] == "request.completed"]
    assert (line["app"], line["frontdoor"]) == (app, frontdoor)


async def test_a_generated_id_is_24_hex_digits_echoed_in_both_headers_and_new_per_request(
    gateway: AsyncTestClient,
) -> None:
    with capture_logs() as logs:
        first = await gateway.get("/healthz")
        second = await gateway.get("/healthz")
    ids = [response.headers["x-request-id"] for response in (first, second)]
    assert all(re.fullmatch(r"[0-9a-f]{24}", rid) for rid in ids) and ids[0] != ids[1]
    assert [response.headers["request-id"] for response in (first, second)] == ids
    assert [entry["request_id"] for entry in logs if entry["event"] == "request.completed"] == ids


async def test_lines_logged_during_a_request_carry_its_id_and_later_ones_do_not(
    gateway: AsyncTestClient, scripted: UpstreamMock
) -> None:
    scripted.add_response(url=OPENAI_URL, status_code=500, json={"error": {"message": "boom"}})
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        await gateway.post(
            "/openai/v1/chat/completions",
            json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
            headers={"x-request-id": "req-ctx"},
        )
        structlog.get_logger("t").info("after.request")
    (failed,) = [entry for entry in logs if entry["event"] == "upstream.failed"]
    assert failed["request_id"] == "req-ctx"
    (after,) = [entry for entry in logs if entry["event"] == "after.request"]
    assert "request_id" not in after


async def test_the_line_on_stdout_has_the_documented_fields_in_order(
    gateway: AsyncTestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", SimpleNamespace(buffer=written))
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("info")
    structlog.configure(cache_logger_on_first_use=False)  # leave other tests' loggers uncached
    try:
        response = await gateway.get("/nowhere", headers={"x-request-id": "req-out"})
        flush_logs()
    finally:
        structlog.reset_defaults()
        root.handlers[:], root.level = handlers, level
    lines = [msgspec.json.decode(line) for line in written.getvalue().splitlines()]
    (line,) = [entry for entry in lines if entry.get("event") == "request.completed"]
    assert response.status_code == 404
    assert list(line) == [
        "request_id", "method", "path", "status", "client_left", "duration_ms", "ttfb_ms", "stream", "attempts",
        "failed_over", "event", "level", "ts",
    ]  # fmt: skip (no app, model, provider, tokens...: fields without a value are left out)
    assert (line["request_id"], line["method"], line["path"]) == ("req-out", "GET", "/nowhere")
    assert line["status"] == 404
    assert (line["level"], line["client_left"]) == ("info", False)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z", line["ts"])
