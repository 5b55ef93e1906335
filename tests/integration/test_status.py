"""``GET /status``: every provider and every deployment in use with its circuit, recent traffic,
the config generation, as JSON for a client that asks for it and as a page otherwise."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from app.asgi import build_asgi
from infrastructure.config.loader import load_config
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

    response = await gateway.get("/status", headers={"accept": "application/json"})

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


# ---- the page and its data: negotiation, access, traffic, keys, generation --------------------
JSON = {"accept": "application/json"}
KEYED = CONFIG + """
auth:
  admin_keys: [status-admin-key]
  keys:
    - {name: team-a, key: sk-gw-team-a, budget: {usd: 25, period: month}}
    - {name: team-b, key: sk-gw-team-b}
"""


async def test_a_browser_gets_the_page_and_a_json_client_the_data(gateway: AsyncTestClient) -> None:
    page = await gateway.get("/status", headers={"accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert b"<title>poly-llm-gateway status</title>" in page.content
    assert not re.search(rb"""(src|href)=["']?(https?:)?//""", page.content)  # nothing from elsewhere
    assert b"<script src" not in page.content and b'rel="stylesheet"' not in page.content
    assert "connect-src 'self'" in page.headers["content-security-policy"]
    assert (await gateway.get("/status")).headers["content-type"].startswith("text/html")  # curl's */*
    for response in (await gateway.get("/status", headers=JSON), await gateway.get("/status?format=json")):
        assert response.headers["content-type"] == "application/json" and "providers" in response.json()
    assert (await gateway.get("/status", headers=JSON)).headers["cache-control"] == "no-store"


async def test_the_data_holds_apps_traffic_worker_and_config_generation(
    gateway: AsyncTestClient, scripted: UpstreamMock
) -> None:
    scripted.add_response(url="http://flaky.test/v1/chat/completions", content=fixture_bytes("openai/chat_text.json"))
    await gateway.post("/openai/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": HELLO})
    await gateway.get("/healthz")  # not an app's: not counted
    status = (await gateway.get("/status", headers=JSON)).json()
    assert status["apps"] == [{"name": "oa", "frontdoor": "openai", "path": "/openai", "traffic": status["apps"][0]["traffic"]}]
    assert status["apps"][0]["traffic"]["requests"] == 1 and status["traffic"]["requests"] == 1
    assert status["traffic"]["status"] == {"2xx": 1, "4xx": 0, "5xx": 0}
    assert status["traffic"]["latency_ms"]["p50"] > 0 and status["traffic"]["requests_per_second"] > 0
    flaky = next(p for p in status["providers"] if p["name"] == "flaky")
    assert (flaky["type"], flaky["traffic"]["requests"], flaky["traffic"]["attempts"]) == ("openai", 1, 1)
    assert status["worker"] == {"pid": os.getpid(), "workers": 1}
    assert (status["config"]["generation"], status["config"]["source"]) == (0, "integration")
    assert status["window_s"] == 300 and "keys" not in status  # no auth.keys: no key section


async def test_with_admin_keys_the_data_needs_one_and_the_page_asks_for_it(
    scripted: UpstreamMock, http_client: str
) -> None:
    async with AsyncTestClient(app=build_asgi(config_for(KEYED, scripted, http_client))) as gateway:
        refused = await gateway.get("/status", headers=JSON)
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        assert "status-admin-key" not in refused.text
        wrong = await gateway.get("/status", headers={**JSON, "authorization": "Bearer nope"})
        assert wrong.status_code == 401
        page = await gateway.get("/status")
        assert page.status_code == 401 and page.headers["content-type"].startswith("text/html")
        assert b'id="auth-key"' in page.content and b"flaky" not in page.content  # the form, no data
        allowed = await gateway.get("/status", headers={**JSON, "authorization": "Bearer status-admin-key"})
        assert allowed.status_code == 200
        keys = allowed.json()["keys"]
    assert [(k["name"], k["budget"], k["since_start"]) for k in keys] == [
        ("team-a", {"usd": 25.0, "period": "month"}, {"requests": 0, "tokens": 0, "cost_usd": 0.0}),
        ("team-b", None, {"requests": 0, "tokens": 0, "cost_usd": 0.0}),
    ]
    assert keys[0]["traffic"]["requests"] == 0


async def test_a_reload_raises_the_generation_and_its_load_time(
    scripted: UpstreamMock, http_client: str, tmp_path: Path
) -> None:
    path = tmp_path / "config.yaml"
    text = scripted.route_hosts(CONFIG).replace("http_client: httpx", f"http_client: {http_client}, watch_config_seconds: 0.05", 1)
    path.write_text(text)
    async with AsyncTestClient(app=build_asgi(load_config(path, env={}))) as gateway:
        first = (await gateway.get("/status", headers=JSON)).json()["config"]
        path.write_text(text + "\n# changed\n")  # the file watch reloads it
        deadline = time.monotonic() + 10
        while (second := (await gateway.get("/status", headers=JSON)).json()["config"])["generation"] == 0:
            assert time.monotonic() < deadline, "no reload"
            await asyncio.sleep(0.05)
    assert (first["generation"], second["generation"]) == (0, 1)
    assert first["source"] == second["source"] == str(path)
    assert datetime.fromisoformat(first["loaded_at"]) < datetime.fromisoformat(second["loaded_at"])
