"""Gateway keys, limits and budgets through the official SDKs against the real server, and
shared across replicas (two processes, and --workers 2) through the real Redis.

Prices are set in the config (1000 USD per million tokens both ways), so the fake upstream's
usage costs a known amount: OpenAI's reply 17 + 23 tokens = 0.04 USD, Anthropic's 31 + 19 =
0.05 USD.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from tests.e2e.conftest import ANTHROPIC_KEY, OPENAI_KEY
from tests.e2e.launcher import GatewayProcess, launch
from tests.fakes.upstream import FakeUpstream, Stall, sse_fixture
from tests.redis_support import RedisSpace

TEAM = "sk-gw-e2e-team-0123456789"
GPT_ONLY = "sk-gw-e2e-gpt-only-0123456789"
LIMITED = "sk-gw-e2e-limited-0123456789"
BUDGET = "sk-gw-e2e-budget-0123456789"
PAIR = "sk-gw-e2e-pair-0123456789"
SINGLE = "sk-gw-e2e-single-0123456789"
ADMIN = "sk-gw-e2e-admin-0123456789"
OPENAI_COST, ANTHROPIC_COST = 0.04, 0.05


def config(upstream_url: str, state: str = "") -> str:
    return f"""
server: {{log_level: info}}
apps:
  - name: oa
    frontdoor: openai
    path: /openai
    models: [{{id: gpt-4o-mini}}, {{id: claude-e2e-model}}]
  - name: an
    frontdoor: anthropic
    path: /anthropic
    models: [{{id: gpt-4o-mini}}, {{id: claude-e2e-model}}]
providers:
  - name: openai
    type: openai
    api_key: {OPENAI_KEY}
    base_url: {upstream_url}/v1
    retries: {{attempts: 1}}
    circuit_breaker: {{enabled: false}}
  - name: anthropic
    type: anthropic
    api_key: {ANTHROPIC_KEY}
    base_url: {upstream_url}
    retries: {{attempts: 1}}
    circuit_breaker: {{enabled: false}}
routing:
  rules:
    - {{model_prefix: claude, provider: anthropic}}
    - {{model_prefix: gpt, provider: openai}}
pricing:
  - {{model: gpt-4o-mini, input_per_mtok: 1000, output_per_mtok: 1000}}
  - {{model: claude-e2e-model, input_per_mtok: 1000, output_per_mtok: 1000}}
auth:
  keys:
    - {{name: team, key: {TEAM}}}
    - {{name: gpt-only, key: {GPT_ONLY}, models: ["gpt-*"]}}
    - {{name: limited, key: {LIMITED}, limits: {{rpm: 30, tpm: 100000}}}}
    - {{name: budget, key: {BUDGET}, budget: {{usd: 0.08, period: month}}}}
    - {{name: pair, key: {PAIR}, limits: {{concurrent: 2}}}}
    - {{name: single, key: {SINGLE}, limits: {{concurrent: 1, tpm: 100000}}}}
  admin_keys: [{ADMIN}]
{state}
"""


def chat(client: openai.OpenAI, model: str = "gpt-4o-mini") -> str:
    completion = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
    return completion.choices[0].message.content or ""


def message(client: anthropic.Anthropic, model: str = "claude-e2e-model") -> str:
    reply = client.messages.create(model=model, max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    return reply.content[0].text  # type: ignore[union-attr]


def usage(gateway: GatewayProcess, name: str) -> dict[str, object]:
    report = httpx.get(f"{gateway.url}/admin/usage", headers={"authorization": f"Bearer {ADMIN}"}, timeout=5).json()
    (entry,) = [key for key in report["keys"] if key["name"] == name]
    return entry


@pytest.fixture
def gateway(upstream: FakeUpstream, tmp_path: Path) -> Iterator[GatewayProcess]:
    with launch(config(upstream.url), tmp_path / "gw") as running:
        yield running


def test_sdks_without_a_known_key_get_401(gateway: GatewayProcess) -> None:
    with pytest.raises(openai.AuthenticationError) as openai_error:
        chat(gateway.openai(api_key="sk-gw-not-a-key-000"))
    assert openai_error.value.code == "invalid_api_key"
    with pytest.raises(anthropic.AuthenticationError) as anthropic_error:
        message(gateway.anthropic(api_key="sk-gw-not-a-key-000"))
    assert anthropic_error.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
    with pytest.raises(openai.AuthenticationError):
        gateway.openai(api_key="sk-gw-not-a-key-000").models.list()


def test_sdks_get_403_for_a_model_outside_the_key_and_a_listing_without_it(gateway: GatewayProcess, upstream: FakeUpstream) -> None:
    with pytest.raises(openai.PermissionDeniedError):
        chat(gateway.openai(api_key=GPT_ONLY), "claude-e2e-model")
    with pytest.raises(anthropic.PermissionDeniedError) as denied:
        message(gateway.anthropic(api_key=GPT_ONLY))
    assert denied.value.body["error"]["type"] == "permission_error"  # type: ignore[index]
    assert upstream.requests == []  # refused before any upstream call
    assert [m.id for m in gateway.openai(api_key=GPT_ONLY).models.list()] == ["gpt-4o-mini"]
    assert [m.id for m in gateway.anthropic(api_key=GPT_ONLY).models.list()] == ["gpt-4o-mini"]
    assert [m.id for m in gateway.openai(api_key=TEAM).models.list()] == ["gpt-4o-mini", "claude-e2e-model"]


def test_the_client_key_never_reaches_the_upstream_nor_the_log(gateway: GatewayProcess, upstream: FakeUpstream) -> None:
    assert chat(gateway.openai(api_key=TEAM))
    assert message(gateway.anthropic(api_key=TEAM))
    bearer = gateway.anthropic(api_key=None, auth_token=TEAM)  # Claude Code's ANTHROPIC_AUTH_TOKEN
    assert message(bearer)
    assert len(upstream.requests) == 3
    for sent in upstream.requests:
        assert TEAM not in repr(sent.headers) and TEAM.encode() not in sent.body
    assert sorted({sent.headers.get("authorization", sent.headers.get("x-api-key")) for sent in upstream.requests}) == sorted(
        {f"Bearer {OPENAI_KEY}", ANTHROPIC_KEY}
    )
    def served() -> list[dict[str, object]]:
        return [line for line in gateway.logs("request.completed") if line["path"] != "/healthz"]

    gateway.wait_log(lambda _: len(served()) == 3)
    assert [line.get("key") for line in served()] == ["team", "team", "team"]
    assert TEAM not in gateway.log_path.read_text()


def test_sdks_get_429_with_the_rate_limit_headers(gateway: GatewayProcess) -> None:
    client = gateway.openai(api_key=LIMITED)
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert raw.headers["x-ratelimit-limit-requests"] == "30"
    assert raw.headers["x-ratelimit-remaining-requests"] == "29"
    assert raw.headers["x-ratelimit-limit-tokens"] == "100000"
    for _ in range(28):
        chat(client)
    reply = gateway.anthropic(api_key=LIMITED).messages.with_raw_response.create(
        model="claude-e2e-model", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.headers["anthropic-ratelimit-requests-limit"] == "30"
    assert reply.headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert reply.headers["anthropic-ratelimit-tokens-limit"] == "100000"
    with pytest.raises(openai.RateLimitError) as limited:
        chat(client)
    assert limited.value.code == "rate_limit_exceeded"
    assert 1 <= int(limited.value.response.headers["retry-after"]) <= 60
    assert limited.value.response.headers["x-ratelimit-remaining-requests"] == "0"
    with pytest.raises(anthropic.RateLimitError) as anthropic_limited:
        message(gateway.anthropic(api_key=LIMITED))
    assert anthropic_limited.value.response.headers["anthropic-ratelimit-requests-remaining"] == "0"


def test_a_spent_budget_is_refused_before_any_upstream_call(gateway: GatewayProcess, upstream: FakeUpstream) -> None:
    client = gateway.openai(api_key=BUDGET, max_retries=2)  # the SDK's retries must not hammer a spent budget
    chat(client)
    message(gateway.anthropic(api_key=BUDGET))
    assert usage(gateway, "budget")["spend_usd"] == pytest.approx(OPENAI_COST + ANTHROPIC_COST)  # 0.09 >= 0.08
    sent = len(upstream.requests)
    with pytest.raises(openai.RateLimitError) as refused:
        chat(client)
    assert refused.value.code == "insufficient_quota"
    with pytest.raises(anthropic.RateLimitError):
        message(gateway.anthropic(api_key=BUDGET, max_retries=2))
    assert len(upstream.requests) == sent
    def refusals() -> int:
        return sum(line.get("rejected") == "budget" for line in gateway.logs("request.completed"))

    gateway.wait_log(lambda _: refusals() >= 2)
    time.sleep(0.5)  # room for a retry's line to appear, had any SDK retried
    assert refusals() == 2  # x-should-retry: false, so no SDK retried
    entry = usage(gateway, "budget")
    assert entry["remaining_usd"] == 0 and entry["requests"] == 2


def test_a_slot_is_given_back_when_the_client_leaves_a_stream_or_a_wait(gateway: GatewayProcess, upstream: FakeUpstream) -> None:
    # a stream the client stops reading after its first event, then closes
    upstream.script(sse_fixture("openai/stream_text_with_usage.sse", delay_ms=300))
    client = gateway.openai(api_key=SINGLE)
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True)
    next(iter(stream))
    with pytest.raises(openai.RateLimitError):  # its slot is held while it runs
        chat(gateway.openai(api_key=SINGLE))
    stream.close()
    assert upstream.wait_for_sync(lambda: upstream.disconnects >= 1, timeout=5)
    gateway.wait_log(lambda line: line.get("event") == "request.completed" and line.get("stream") is True)
    assert chat(gateway.openai(api_key=SINGLE))
    # a non-streaming request whose client gives up while the upstream is still thinking
    upstream.script(Stall(5))
    with pytest.raises(openai.APITimeoutError):
        chat(gateway.openai(api_key=SINGLE, timeout=0.5))
    gateway.wait_log(lambda line: line.get("event") == "request.completed" and line.get("client_left") is True)
    assert chat(gateway.openai(api_key=SINGLE))
    assert usage(gateway, "single")["in_flight"] == 0


def test_spend_survives_a_restart_without_redis(upstream: FakeUpstream, tmp_path: Path) -> None:
    workdir = tmp_path / "gw"
    with launch(config(upstream.url), workdir) as gateway:
        chat(gateway.openai(api_key=BUDGET))
        chat(gateway.openai(api_key=BUDGET))
    assert (workdir / "gateway-state.sqlite3").exists()
    with launch(config(upstream.url), workdir) as gateway:
        assert usage(gateway, "budget")["spend_usd"] == pytest.approx(2 * OPENAI_COST)  # the budget: 0.08
        with pytest.raises(openai.RateLimitError) as refused:
            chat(gateway.openai(api_key=BUDGET))
        assert refused.value.code == "insufficient_quota"


def test_a_reload_applies_key_changes_and_keeps_counted_spend(upstream: FakeUpstream, tmp_path: Path) -> None:
    workdir = tmp_path / "gw"
    text = config(upstream.url)
    with launch(text.replace("server: {log_level: info}", "server: {log_level: info, watch_config_seconds: 0.1}"),
                workdir) as gateway:  # fmt: skip
        chat(gateway.openai(api_key=BUDGET))
        newcomer = "sk-gw-e2e-newcomer-0123456789"
        changed = text.replace(f"    - {{name: team, key: {TEAM}}}", f"    - {{name: newcomer, key: {newcomer}}}")
        (workdir / "config.yaml").write_text(
            changed.replace("server: {log_level: info}", "server: {log_level: info, watch_config_seconds: 0.1}")
        )
        gateway.wait_log(lambda line: line.get("event") == "config.reloaded", timeout=10)
        assert chat(gateway.openai(api_key=newcomer))
        with pytest.raises(openai.AuthenticationError):
            chat(gateway.openai(api_key=TEAM))
        assert usage(gateway, "budget")["spend_usd"] == pytest.approx(OPENAI_COST)


# ---- replicas on one Redis ---------------------------------------------------------------------

def redis_state(space: RedisSpace) -> str:
    return f'state: {{redis_url: "{space.url}", key_prefix: "{space.prefix}"}}'


@pytest.fixture
def replicas(upstream: FakeUpstream, tmp_path: Path, redis_space: RedisSpace) -> Iterator[tuple[GatewayProcess, GatewayProcess]]:
    text = config(upstream.url, redis_state(redis_space))
    with launch(text, tmp_path / "one") as one, launch(text, tmp_path / "two") as two:
        yield one, two


def test_two_replicas_let_exactly_rpm_requests_through(replicas: tuple[GatewayProcess, GatewayProcess]) -> None:
    clients = [gateway.openai(api_key=LIMITED) for gateway in replicas]
    served = refused = 0
    for i in range(60):
        try:
            chat(clients[i % 2])
            served += 1
        except openai.RateLimitError:
            refused += 1
    assert (served, refused) == (30, 30)


def test_a_budget_spent_on_one_replica_is_refused_on_the_other(replicas: tuple[GatewayProcess, GatewayProcess]) -> None:
    one, two = replicas
    chat(one.openai(api_key=BUDGET))
    chat(one.openai(api_key=BUDGET))  # 0.08 spent on the first replica: the whole budget
    with pytest.raises(openai.RateLimitError) as refused:
        chat(two.openai(api_key=BUDGET))
    assert refused.value.code == "insufficient_quota"
    assert usage(two, "budget")["spend_usd"] == pytest.approx(2 * OPENAI_COST)


def test_concurrent_holds_across_replicas(replicas: tuple[GatewayProcess, GatewayProcess], upstream: FakeUpstream) -> None:
    upstream.default = Stall(1.5)  # every answer takes 1.5 s: four requests overlap
    targets = [replicas[0], replicas[1], replicas[0], replicas[1]]

    def attempt(gateway: GatewayProcess) -> str:
        try:
            chat(gateway.openai(api_key=PAIR))
            return "ok"
        except openai.RateLimitError:
            return "refused"

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        outcomes = sorted(pool.map(attempt, targets))
    assert outcomes == ["ok", "ok", "refused", "refused"]
    upstream.default = None
    assert chat(replicas[1].openai(api_key=PAIR))  # the slots were given back
    assert usage(replicas[0], "pair")["in_flight"] == 0


def test_two_workers_let_exactly_rpm_requests_through(upstream: FakeUpstream, tmp_path: Path, redis_space: RedisSpace) -> None:
    text = config(upstream.url, redis_state(redis_space)).replace("server: {log_level: info}", "server: {log_level: info, workers: 2}")
    with launch(text, tmp_path / "workers") as gateway:
        served = refused = 0
        for _ in range(60):
            client = gateway.openai(api_key=LIMITED, http_client=httpx.Client(headers={"connection": "close"}))
            try:
                chat(client)
                served += 1
            except openai.RateLimitError:
                refused += 1
        assert (served, refused) == (30, 30)
