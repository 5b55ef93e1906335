"""``GET /status``: every provider and every deployment in use with its circuit, as JSON."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from litestar.testing import AsyncTestClient

from app.asgi import build_asgi
from tests.conftest import fixture_bytes
from tests.integration.conftest import config_for
from tests.integration.upstream import UpstreamMock

CONFIG = """
server: {http_client: httpx}
apps:
  - {name: oa, frontdoor: openai, path: /openai}
providers:
  - name: flaky
    type: openai
    api_key: k
    base_url: http://flaky.test/v1
    retries: {attempts: 1}
    circuit_breaker: {consecutive_failures: 1, cooldown: 40}
  - {name: backup, type: openai, api_key: k, base_url: http://backup.test/v1, circuit_breaker: {fail_fast: true}}
  - {name: idle, type: anthropic, api_key: k, base_url: http://idle.test, circuit_breaker: {enabled: false}}
routing:
  default_provider: {provider: flaky, fallbacks: [{provider: backup}]}
"""
HELLO = [{"role": "user", "content": "Hello!"}]


@pytest.fixture
async def gateway(scripted: UpstreamMock, http_client: str) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=build_asgi(config_for(CONFIG, scripted, http_client))) as client:
        yield client


async def test_status_lists_every_provider_and_deployment_with_its_circuit(
    gateway: AsyncTestClient, scripted: UpstreamMock
) -> None:
    scripted.add_response(url="http://flaky.test/v1/chat/completions", status_code=500, json={"error": {"message": "x"}})
    scripted.add_response(url="http://backup.test/v1/chat/completions", content=fixture_bytes("openai/chat_text.json"))
    before = time.time()
    served = await gateway.post("/openai/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": HELLO})
    assert served.headers["x-gateway-provider"] == "backup"

    response = await gateway.get("/status")

    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    providers = {p["name"]: p for p in response.json()["providers"]}
    assert list(providers) == ["flaky", "backup", "idle"]  # config order, each one listed
    flaky = providers["flaky"]
    assert (flaky["state"], flaky["requests"], flaky["failures"]) == ("closed", 1, 0)  # it answered: reachable
    (deployment,) = flaky["deployments"]
    assert {k: deployment[k] for k in ("model", "state", "requests", "failures", "failure_ratio", "trips", "cooldown_s")} == {
        "model": "gpt-4o-mini", "state": "open", "requests": 1, "failures": 1, "failure_ratio": 1.0, "trips": 1,
        "cooldown_s": 40.0,
    }
    assert 39 < deployment["next_probe_in_s"] <= 40
    probe_at = datetime.fromisoformat(deployment["next_probe_at"]).timestamp()
    assert before + 39 < probe_at < time.time() + 41
    backup = providers["backup"]
    assert (backup["fail_fast"], backup["breaker_enabled"]) == (True, True)
    assert [(d["model"], d["state"], d["requests"], d["next_probe_in_s"], d["next_probe_at"]) for d in backup["deployments"]] == [
        ("gpt-4o-mini", "closed", 1, None, None)
    ]
    assert (providers["idle"]["breaker_enabled"], providers["idle"]["deployments"]) == (False, [])
