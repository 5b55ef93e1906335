"""``/metrics`` on the real server: known traffic through the official SDKs gives known counts;
labels stay bounded whatever model names clients send; with ``--workers 2`` the totals are the
whole server's; the admin key guards it when one is configured."""

from __future__ import annotations

import asyncio
import random
import string
from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from tests.e2e.launcher import GatewayProcess, launch, write_config
from tests.fakes.upstream import FakeUpstream, error
from tests.metrics_text import Samples, label_values, parse, value

HELLO = [{"role": "user", "content": "Hello!"}]


def metrics_config(url: str, *, server: str = "", extra: str = "", breaker: str = "{enabled: false}") -> str:
    return f"""
server: {{log_level: info{server}}}
apps:
  - name: oa
    frontdoor: openai
    path: /openai
    model_routing:
      rewrites:
        - model_exact: resilient
          provider: primary
          model: gpt-5-mini
          fallbacks: [{{provider: backup, model: claude-backup-model}}]
  - {{name: an, frontdoor: anthropic, path: /anthropic}}
providers:
  - name: primary
    type: openai
    api_key: sk-primary
    base_url: {url}/v1
    retries: {{attempts: 2, backoff_base: 0.01, backoff_cap: 0.02}}
    circuit_breaker: {breaker}
  - name: backup
    type: anthropic
    api_key: sk-backup
    base_url: {url}
    retries: {{attempts: 1}}
    circuit_breaker: {{enabled: false}}
routing:
  rules: [{{model_prefix: claude, provider: backup}}]
  default_provider: primary
{extra}
"""


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeUpstream]:
    server = FakeUpstream(record=False).start_in_thread()
    yield server
    server.stop()


def scrape(gateway: GatewayProcess, **headers: str) -> Samples:
    answer = httpx.get(f"{gateway.url}/metrics", headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return parse(answer.text)


def test_known_traffic_through_the_sdks_gives_known_counts(fake: FakeUpstream, tmp_path: Path) -> None:
    fake.reset()
    with launch(metrics_config(fake.url), tmp_path) as gateway:
        oa, an = gateway.openai(), gateway.anthropic()
        for _ in range(3):  # same protocol
            oa.chat.completions.create(model="gpt-5-mini", messages=HELLO)  # type: ignore[arg-type]
        for _ in range(2):  # streams
            chunks = oa.chat.completions.create(
                model="gpt-5-mini", messages=HELLO, stream=True,  # type: ignore[arg-type]
                stream_options={"include_usage": True},
            )  # fmt: skip
            assert list(chunks)
        an.messages.create(model="claude-backup-model", max_tokens=64, messages=HELLO)  # type: ignore[arg-type]
        for _ in range(2):  # translated: Anthropic client, OpenAI provider
            an.messages.create(model="gpt-5-mini", max_tokens=64, messages=HELLO)  # type: ignore[arg-type]
        fake.script_for("/v1/chat/completions", error(400))
        with pytest.raises(openai.BadRequestError):
            oa.chat.completions.create(model="gpt-5-mini", messages=HELLO)  # type: ignore[arg-type]
        fake.script_for("/v1/chat/completions", error(503), error(503))  # retried, then failed over
        served = oa.chat.completions.with_raw_response.create(model="resilient", messages=HELLO)  # type: ignore[arg-type]
        assert served.headers["x-gateway-provider"] == "backup"
        with pytest.raises(anthropic.NotFoundError):  # a path no app serves: not counted
            gateway.anthropic(path="/nowhere").messages.create(model="x", max_tokens=1, messages=HELLO)  # type: ignore[arg-type]
        s = scrape(gateway)

    primary = {"provider": "primary", "model": "gpt-5-mini"}
    assert value(s, "gateway_requests_total", app="oa", frontdoor="openai", status="200", **primary) == 5
    assert value(s, "gateway_requests_total", app="oa", status="400", **primary) == 1
    assert value(s, "gateway_requests_total", app="an", frontdoor="anthropic", status="200", **primary) == 2
    assert value(s, "gateway_requests_total", app="an", provider="backup", model="claude-backup-model") == 1
    assert value(s, "gateway_requests_total", app="oa", provider="backup", model="claude-backup-model") == 1
    assert value(s, "gateway_requests_total") == 10  # the 404 reached no app
    assert value(s, "gen_ai_server_request_duration_seconds_count", status_class="2xx") == 9
    assert value(s, "gen_ai_server_request_duration_seconds_count", status_class="4xx") == 1
    assert value(s, "gateway_upstream_attempts_total", result="ok", **primary) == 7
    assert value(s, "gateway_upstream_attempts_total", result="invalid_request", **primary) == 1
    assert value(s, "gateway_upstream_attempts_total", result="overloaded", **primary) == 2
    assert value(s, "gateway_upstream_attempts_total", provider="backup", result="ok") == 2
    assert value(s, "gateway_failovers_total", app="oa", from_provider="primary", to_provider="backup") == 1
    assert value(s, "gateway_failovers_total") == 1
    assert value(s, "gen_ai_server_time_to_first_token_seconds_count", app="oa", **primary) == 2
    assert value(s, "gen_ai_server_time_per_output_token_seconds_count", **primary) == 2
    assert value(s, "gateway_overhead_seconds_count", frontdoor="openai", translated="false") == 6
    assert value(s, "gateway_overhead_seconds_count", frontdoor="openai", translated="true") == 1  # failed over
    assert value(s, "gateway_overhead_seconds_count", frontdoor="anthropic", translated="true") == 2
    assert value(s, "gateway_overhead_seconds_count", frontdoor="anthropic", translated="false") == 1
    assert value(s, "gen_ai_client_token_usage_count", gen_ai_token_type="input", **primary) == 7
    assert value(s, "gen_ai_client_token_usage_count", gen_ai_token_type="output", **primary) == 7
    assert value(s, "gen_ai_client_token_usage_sum", gen_ai_token_type="output", **primary) > 0
    assert value(s, "gateway_in_flight") == 0
    assert label_values(s, "gateway_in_flight", "stream") == {"true", "false"}
    assert value(s, "gateway_circuit_state", provider="primary", model="gpt-5-mini") == 0
    # priced by the bundled table (no gateway keys: key "none"); nothing was refused
    assert value(s, "gateway_cost_usd_total", key="none", **primary) > 0
    assert not any(name.startswith("gateway_rejected") for name, _ in s)


def random_name(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_lowercase + string.digits + "-.", k=rng.randint(3, 40)))


async def ask_many(url: str, names: list[str], concurrency: int = 16) -> None:
    queue = list(names)

    async def worker(client: httpx.AsyncClient) -> None:
        while queue:
            name = queue.pop()
            answer = await client.post(f"{url}/openai/v1/chat/completions", json={"model": name, "messages": HELLO})
            assert answer.status_code == 200, answer.text
            assert answer.json()["model"] == name  # the fake echoes it, and so does the gateway

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))


def test_ten_thousand_invented_model_names_do_not_grow_the_metric_set(fake: FakeUpstream, tmp_path: Path) -> None:
    fake.reset()
    rng = random.Random(13)
    with launch(metrics_config(fake.url, server=", log_level: warning, access_log: false"), tmp_path) as gateway:
        asyncio.run(ask_many(gateway.url, [random_name(rng) for _ in range(100)]))
        before = scrape(gateway)
        asyncio.run(ask_many(gateway.url, [random_name(rng) for _ in range(9_900)]))
        after = scrape(gateway)
    assert set(after) == set(before)
    assert value(after, "gateway_requests_total", model="other") == 10_000
    assert label_values(after, "gateway_upstream_attempts_total", "model") == {"other"}
    assert label_values(after, "gateway_circuit_state", "model") <= {"other"}


def test_metrics_need_the_admin_key_when_one_is_configured(fake: FakeUpstream, tmp_path: Path) -> None:
    extra = "auth: {admin_keys: [adm-metrics-secret]}"
    with launch(metrics_config(fake.url, extra=extra), tmp_path) as gateway:
        refused = httpx.get(f"{gateway.url}/metrics", timeout=10)
        wrong = httpx.get(f"{gateway.url}/metrics", headers={"authorization": "Bearer nope"}, timeout=10)
        allowed = httpx.get(f"{gateway.url}/metrics", headers={"authorization": "Bearer adm-metrics-secret"},
                            timeout=10)
    assert (refused.status_code, wrong.status_code, allowed.status_code) == (401, 401, 200)
    assert "adm-metrics-secret" not in refused.text
    assert "gateway_requests_total" in allowed.text


def test_with_two_workers_the_totals_are_the_whole_servers(fake: FakeUpstream, tmp_path: Path) -> None:
    fake.reset()
    traffic, streams = 60, 10
    with launch(metrics_config(fake.url), tmp_path, env={"GATEWAY_WORKERS": "2"}) as gateway:
        shared = Path(str(gateway.wait_log(lambda r: r.get("event") == "metrics.shared")["directory"]))
        assert shared.is_dir()
        for index in range(traffic):  # a connection each: the workers share them out
            with gateway.openai() as client:
                client.chat.completions.create(
                    model="gpt-5-mini", messages=HELLO, stream=index < streams,  # type: ignore[arg-type]
                )  # fmt: skip
        workers = {path.name for path in shared.glob("counter_*.db")}
        scrapes = [scrape(gateway) for _ in range(6)]  # whichever worker answers
    assert len(workers) == 2, f"one worker served everything: {workers}"
    for s in scrapes:
        assert value(s, "gateway_requests_total", app="oa", status="200") == traffic
        assert value(s, "gen_ai_server_request_duration_seconds_count", app="oa") == traffic
        assert value(s, "gen_ai_server_time_to_first_token_seconds_count") == streams
        assert value(s, "gateway_in_flight") == 0
    assert not shared.exists()  # removed when the server stopped



def test_config_reloads_are_counted_applied_or_refused(fake: FakeUpstream, tmp_path: Path) -> None:
    text = metrics_config(fake.url, server=", watch_config_seconds: 0.1")
    with launch(text, tmp_path) as gateway:
        write_config(gateway.config, text + "\nnot_a_section: 1\n")
        gateway.wait_log(lambda r: r.get("event") == "config.reload_refused")
        write_config(gateway.config, text.replace("attempts: 2", "attempts: 3"))
        gateway.wait_log(lambda r: r.get("event") == "config.reloaded")
        s = scrape(gateway)
    assert value(s, "gateway_config_reloads_total", result="refused") == 1
    assert value(s, "gateway_config_reloads_total", result="applied") == 1


def test_with_two_workers_a_circuit_open_in_one_shows_whichever_worker_is_scraped(
    fake: FakeUpstream, tmp_path: Path
) -> None:
    fake.reset()
    config = metrics_config(fake.url, breaker="{consecutive_failures: 1, cooldown: 60}")
    with launch(config.replace("attempts: 2,", "attempts: 1,"), tmp_path, env={"GATEWAY_WORKERS": "2"}) as gateway:
        shared = Path(str(gateway.wait_log(lambda r: r.get("event") == "metrics.shared")["directory"]))
        fake.script_for("/v1/chat/completions", error(500))
        with gateway.openai() as client, pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model="gpt-5-mini", messages=HELLO)  # type: ignore[arg-type]
        gateway.wait_log(lambda r: r.get("event") == "circuit.changed" and r.get("state") == "open")
        scrapes = []
        for _ in range(8):  # a connection each: both workers answer some
            scrapes.append(scrape(gateway))
        writers = {path.name for path in shared.glob("gauge_livemax_*.db")}
    assert len(writers) >= 1
    for s in scrapes:
        assert value(s, "gateway_circuit_state", provider="primary", model="gpt-5-mini") == 2


def test_refusals_are_counted_by_key_and_reason(fake: FakeUpstream, tmp_path: Path) -> None:
    fake.reset()
    extra = "auth: {keys: [{name: team-a, key: sk-team-a-secret, limits: {rpm: 1}}]}"
    with launch(metrics_config(fake.url, extra=extra), tmp_path) as gateway:
        team = gateway.openai(api_key="sk-team-a-secret")
        team.chat.completions.create(model="gpt-5-mini", messages=HELLO)  # type: ignore[arg-type]
        with pytest.raises(openai.RateLimitError):
            team.chat.completions.create(model="gpt-5-mini", messages=HELLO)  # type: ignore[arg-type]
        with pytest.raises(openai.AuthenticationError):
            gateway.openai(api_key="sk-not-a-key").chat.completions.create(model="gpt-5-mini", messages=HELLO)  # type: ignore[arg-type]
        s = scrape(gateway)
    assert value(s, "gateway_rejected_total", key="team-a", reason="rpm") == 1
    assert value(s, "gateway_rejected_total", key="none", reason="auth") == 1
    assert value(s, "gateway_cost_usd_total", key="team-a", provider="primary", model="gpt-5-mini") > 0
    assert value(s, "gateway_requests_total", app="oa", status="429") == 1
