"""Gateway keys at both frontdoors, in-process: 401, 403, the filtered listing, 429 with the
protocol's rate-limit headers, a spent budget, slots given back on every path, the record's
``key`` and ``rejected``, ``/admin/usage``; and two apps sharing one Redis as two replicas do."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from structlog.testing import capture_logs

from app.asgi import build_asgi
from tests.conftest import fixture_bytes
from tests.integration.conftest import ANTHROPIC_URL, CONFIG, OPENAI_URL, config_for, sse
from tests.integration.upstream import UpstreamMock
from tests.redis_support import RedisSpace

TEAM = "sk-gw-team-a-0123456789abcdef"
LIMITED = "sk-gw-limited-0123456789abcdef"
GPT_ONLY = "sk-gw-gpt-only-0123456789abcdef"
AN_ONLY = "sk-gw-an-only-0123456789abcdef"
BROKE = "sk-gw-broke-0123456789abcdef"
ADMIN = "sk-gw-admin-0123456789abcdef"

AUTH = f"""
auth:
  keys:
    - {{name: team-a, key: {TEAM}}}
    - {{name: limited, key: {LIMITED}, limits: {{rpm: 2, tpm: 1000, concurrent: 1}}}}
    - {{name: gpt-only, key: {GPT_ONLY}, models: ["gpt-*"]}}
    - {{name: an-only, key: {AN_ONLY}, apps: [an]}}
    - {{name: broke, key: {BROKE}, budget: {{usd: 0, period: month}}}}
  admin_keys: [{ADMIN}]
"""
CHAT = {"model": "claude-haiku-4.5", "messages": [{"role": "user", "content": "hi"}]}
MESSAGE = {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@pytest.fixture
async def gateway(scripted: UpstreamMock, http_client: str) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=build_asgi(config_for(CONFIG + AUTH, scripted, http_client))) as client:
        yield client


def openai_ok(scripted: UpstreamMock) -> None:
    scripted.add_response(url=OPENAI_URL, content=fixture_bytes("openai/chat_text.json"))


# ---- keys ------------------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [{}, bearer("sk-gw-unknown-key"), {"authorization": f"Basic {TEAM}"}])
async def test_openai_without_a_known_key_is_a_401_invalid_api_key(gateway: AsyncTestClient, headers: dict[str, str]) -> None:
    for method, path in (("POST", "/openai/v1/chat/completions"), ("GET", "/openai/v1/models"), ("GET", "/openai/v1/models/x")):
        response = await gateway.request(method, path, json=CHAT if method == "POST" else None, headers=headers)
        assert response.status_code == 401, path
        error = response.json()["error"]
        assert (error["type"], error["code"]) == ("invalid_request_error", "invalid_api_key")
        assert TEAM not in response.text and "unknown-key" not in response.text


async def test_anthropic_without_a_known_key_is_a_401_authentication_error(gateway: AsyncTestClient) -> None:
    for path in ("/anthropic/v1/messages", "/anthropic/v1/messages/count_tokens"):
        response = await gateway.post(path, json=MESSAGE, headers={"x-api-key": "sk-gw-unknown-key"})
        assert response.status_code == 401
        assert response.json() == {"type": "error", "error": {"type": "authentication_error", "message": response.json()["error"]["message"]}}


@pytest.mark.parametrize("headers", [{"x-api-key": TEAM}, bearer(TEAM)])
async def test_anthropic_takes_x_api_key_or_a_bearer_token(gateway: AsyncTestClient, scripted: UpstreamMock, headers: dict[str, str]) -> None:
    scripted.add_response(url=ANTHROPIC_URL, content=fixture_bytes("anthropic/message_text.json"))
    response = await gateway.post("/anthropic/v1/messages", json=MESSAGE, headers=headers)
    assert response.status_code == 200
    (sent,) = scripted.get_requests()
    assert TEAM not in repr(sent.headers)  # the client's key never goes upstream


async def test_health_probes_stay_open(gateway: AsyncTestClient) -> None:
    assert (await gateway.get("/healthz")).status_code == 200
    assert (await gateway.get("/readyz")).status_code == 200


async def test_the_record_names_the_key_and_why_it_was_refused(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    openai_ok(scripted)
    with capture_logs() as logs:
        await gateway.post("/openai/v1/chat/completions", json=CHAT, headers=bearer(TEAM))
        await gateway.post("/openai/v1/chat/completions", json=CHAT, headers=bearer("sk-gw-wrong-0123456789"))
    lines = [line for line in logs if line["event"] == "request.completed"]
    assert (lines[0]["key"], lines[0].get("rejected")) == ("team-a", None)
    assert (lines[1].get("key"), lines[1]["rejected"], lines[1]["status"]) == (None, "auth", 401)
    assert TEAM not in repr(logs) and "sk-gw-wrong" not in repr(logs)


# ---- what a key may use ------------------------------------------------------------------------

async def test_an_app_the_key_may_not_use_is_a_403(gateway: AsyncTestClient) -> None:
    response = await gateway.post("/openai/v1/chat/completions", json=CHAT, headers=bearer(AN_ONLY))
    assert response.status_code == 403
    assert response.json()["error"]["type"] == "permission_error"


async def test_a_model_the_key_may_not_use_is_a_403_before_any_upstream_call(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    response = await gateway.post("/openai/v1/chat/completions", json=CHAT, headers=bearer(GPT_ONLY))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "model_not_allowed"
    response = await gateway.post("/anthropic/v1/messages", json=MESSAGE, headers={"x-api-key": GPT_ONLY})
    assert response.status_code == 403 and response.json()["error"]["type"] == "permission_error"
    response = await gateway.post("/anthropic/v1/messages/count_tokens", json=MESSAGE, headers={"x-api-key": GPT_ONLY})
    assert response.status_code == 403
    assert scripted.get_requests() == []


async def test_embeddings_and_responses_keep_to_the_keys_models(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    embedding = {"model": "claude-haiku-4.5", "input": "hi"}
    response = await gateway.post("/openai/v1/embeddings", json=embedding, headers=bearer(GPT_ONLY))
    assert response.status_code == 403 and response.json()["error"]["code"] == "model_not_allowed"
    turn = {"model": "claude-haiku-4.5", "input": "hi"}
    response = await gateway.post("/openai/v1/responses", json=turn, headers=bearer(GPT_ONLY))
    assert response.status_code == 403 and response.json()["error"]["code"] == "model_not_allowed"
    response = await gateway.post("/openai/v1/embeddings", json=embedding)
    assert response.status_code == 401
    assert scripted.get_requests() == []


async def test_the_model_listing_shows_only_what_the_key_may_use(gateway: AsyncTestClient) -> None:
    full = (await gateway.get("/openai/v1/models", headers=bearer(TEAM))).json()
    assert [m["id"] for m in full["data"]] == ["claude-haiku-4.5", "sonnet-on-anthropic"]
    assert (await gateway.get("/openai/v1/models", headers=bearer(GPT_ONLY))).json()["data"] == []
    assert (await gateway.get("/openai/v1/models/claude-haiku-4.5", headers=bearer(GPT_ONLY))).status_code == 404
    anthropic = (await gateway.get("/anthropic/v1/models", headers={"x-api-key": GPT_ONLY})).json()
    assert anthropic["data"] == [] and anthropic["first_id"] is None


# ---- limits ------------------------------------------------------------------------------------

async def test_over_rpm_is_a_429_with_openai_rate_limit_headers(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    openai_ok(scripted)
    openai_ok(scripted)
    first = await gateway.post("/openai/v1/chat/completions", json=CHAT, headers=bearer(LIMITED))
    assert first.status_code == 200
    assert first.headers["x-ratelimit-limit-requests"] == "2"
    assert first.headers["x-ratelimit-remaining-requests"] == "1"
    assert first.headers["x-ratelimit-reset-requests"].endswith("s")
    assert first.headers["x-ratelimit-limit-tokens"] == "1000"
    assert int(first.headers["x-ratelimit-remaining-tokens"]) < 1000
    await gateway.post("/openai/v1/chat/completions", json=CHAT, headers=bearer(LIMITED))
    refused = await gateway.post("/openai/v1/chat/completions", json=CHAT, headers=bearer(LIMITED))
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"


async def test_over_rpm_is_a_429_with_anthropic_rate_limit_headers(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    scripted.add_response(url=ANTHROPIC_URL, content=fixture_bytes("anthropic/message_text.json"))
    first = await gateway.post("/anthropic/v1/messages", json=MESSAGE, headers={"x-api-key": LIMITED})
    assert first.status_code == 200
    assert first.headers["anthropic-ratelimit-requests-limit"] == "2"
    assert first.headers["anthropic-ratelimit-requests-remaining"] == "1"
    assert first.headers["anthropic-ratelimit-requests-reset"].endswith("Z")
    assert first.headers["anthropic-ratelimit-tokens-limit"] == "1000"
    await gateway.get("/anthropic/v1/models", headers={"x-api-key": LIMITED})  # every request counts
    refused = await gateway.post("/anthropic/v1/messages", json=MESSAGE, headers={"x-api-key": LIMITED})
    assert refused.status_code == 429
    assert refused.json()["error"]["type"] == "rate_limit_error"
    assert "retry-after" in refused.headers and refused.headers["anthropic-ratelimit-requests-remaining"] == "0"


async def test_over_tpm_is_a_429_before_any_upstream_call(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    big = {"model": "claude-haiku-4.5", "messages": [{"role": "user", "content": "x" * 8000}]}
    openai_ok(scripted)
    assert (await gateway.post("/openai/v1/chat/completions", json=big, headers=bearer(LIMITED))).status_code == 200
    refused = await gateway.post("/openai/v1/chat/completions", json=big, headers=bearer(LIMITED))
    assert refused.status_code == 429 and "tokens per minute" in refused.json()["error"]["message"]
    # the first one's estimate (about 2000) was settled with its real usage, 17 + 23
    assert refused.headers["x-ratelimit-remaining-tokens"] == str(1000 - 40)
    assert len(scripted.get_requests()) == 1


async def test_a_slot_is_given_back_after_an_upstream_error_and_after_a_stream(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    scripted.add_response(url=OPENAI_URL, status_code=400, json={"error": {"message": "bad", "type": "invalid_request_error"}})
    failed = await gateway.post("/openai/v1/chat/completions", json=CHAT, headers=bearer(LIMITED))
    assert failed.status_code == 400  # concurrent: 1, and the next one is admitted
    scripted.add_response(url=ANTHROPIC_URL, stream=sse(fixture_bytes("anthropic/stream_text.sse")))
    streamed = await gateway.post("/anthropic/v1/messages", json={**MESSAGE, "stream": True}, headers={"x-api-key": LIMITED})
    assert streamed.status_code == 200 and "message_stop" in streamed.text
    report = (await gateway.get("/admin/usage", headers=bearer(ADMIN))).json()
    (limited,) = [entry for entry in report["keys"] if entry["name"] == "limited"]
    assert limited["in_flight"] == 0 and limited["requests"] == 2
    assert limited["output_tokens"] == 19  # the stream's real usage was settled


async def test_a_spent_budget_is_a_429_insufficient_quota_before_any_upstream_call(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    refused = await gateway.post("/openai/v1/chat/completions", json=CHAT, headers=bearer(BROKE))
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert (error["type"], error["code"]) == ("insufficient_quota", "insufficient_quota")
    assert refused.headers["x-should-retry"] == "false"
    refused = await gateway.post("/anthropic/v1/messages", json=MESSAGE, headers={"x-api-key": BROKE})
    assert refused.status_code == 429 and refused.json()["error"]["type"] == "rate_limit_error"
    assert scripted.get_requests() == []


# ---- admin -------------------------------------------------------------------------------------

async def test_admin_usage_needs_an_admin_key_and_lists_every_key(gateway: AsyncTestClient, scripted: UpstreamMock) -> None:
    assert (await gateway.get("/admin/usage")).status_code == 401
    assert (await gateway.get("/admin/usage", headers=bearer(TEAM))).status_code == 401
    openai_ok(scripted)
    await gateway.post("/openai/v1/chat/completions", json=CHAT, headers=bearer(TEAM))
    report = (await gateway.get("/admin/usage", headers=bearer(ADMIN))).json()
    by_name: dict[str, Any] = {entry["name"]: entry for entry in report["keys"]}
    assert list(by_name) == ["team-a", "limited", "gpt-only", "an-only", "broke"]
    assert (by_name["team-a"]["requests"], by_name["team-a"]["input_tokens"], by_name["team-a"]["output_tokens"]) == (1, 17, 23)
    assert by_name["broke"]["period"] == "month" and by_name["broke"]["remaining_usd"] == 0
    assert by_name["limited"]["limits"] == {"rpm": 2, "tpm": 1000, "concurrent": 1}
    assert TEAM not in repr(report)


# ---- shared state ------------------------------------------------------------------------------

async def test_two_apps_on_one_redis_share_the_minute(scripted: UpstreamMock, redis_space: RedisSpace) -> None:
    state = f'\nstate: {{redis_url: "{redis_space.url}", key_prefix: "{redis_space.prefix}"}}\n'
    config = config_for(CONFIG + AUTH + state, scripted, "httpx")
    async with AsyncTestClient(app=build_asgi(config)) as one, AsyncTestClient(app=build_asgi(config)) as two:
        openai_ok(scripted)
        openai_ok(scripted)
        statuses = []
        for client in (one, two, one, two):
            response = await client.post("/openai/v1/chat/completions", json=CHAT, headers=bearer(LIMITED))
            statuses.append(response.status_code)
        assert statuses == [200, 200, 429, 429]


async def test_redis_down_with_deny_is_a_503_in_each_protocol(scripted: UpstreamMock) -> None:
    state = '\nstate: {redis_url: "redis://127.0.0.1:1/11", on_unavailable: deny}\n'
    async with AsyncTestClient(app=build_asgi(config_for(CONFIG + AUTH + state, scripted, "httpx"))) as client:
        refused = await client.post("/openai/v1/chat/completions", json=CHAT, headers=bearer(LIMITED))
        assert refused.status_code == 503 and refused.json()["error"]["type"] == "service_unavailable_error"
        assert refused.headers["retry-after"] == "1"
        refused = await client.post("/anthropic/v1/messages", json=MESSAGE, headers={"x-api-key": LIMITED})
        assert refused.status_code == 503 and refused.json()["error"]["type"] == "overloaded_error"
        # a key without limits or budget needs no state: it is served
        scripted.add_response(url=ANTHROPIC_URL, content=fixture_bytes("anthropic/message_text.json"))
        assert (await client.post("/anthropic/v1/messages", json=MESSAGE, headers={"x-api-key": TEAM})).status_code == 200


async def test_redis_down_with_allow_counts_in_the_process(scripted: UpstreamMock) -> None:
    state = '\nstate: {redis_url: "redis://127.0.0.1:1/11"}\n'
    async with AsyncTestClient(app=build_asgi(config_for(CONFIG + AUTH + state, scripted, "httpx"))) as client:
        openai_ok(scripted)
        openai_ok(scripted)
        statuses = [(await client.post("/openai/v1/chat/completions", json=CHAT, headers=bearer(LIMITED))).status_code
                    for _ in range(3)]
        assert statuses == [200, 200, 429]
