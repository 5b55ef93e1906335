"""The status page in a real headless browser (Debian's chromium, driven by playwright).

The real gateway process serves an OpenAI and an Anthropic app in front of a fake upstream, and
one provider that refuses connections (its circuit opens; its route fails over). While the
official SDKs send traffic from a thread, the page is loaded and must show, from its own
fetches: every app and provider, a non-zero request rate, circuit states (the dead provider's
open), and latency and time-to-first-byte figures. A screenshot is saved as
``tests/artifacts/status.png``. With admin keys the page first asks for one, then shows the
status once it is given, with a section for the gateway keys when ``auth.keys`` has any.

chromium comes from Debian (``.ci/run`` installs it); where it is missing the test is skipped
with the reason, except in CI (``CI`` set), where it fails.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ROOT, free_port
from tests.e2e.launcher import GatewayProcess, launch
from tests.fakes.upstream import FakeUpstream

CHROMIUM = os.environ.get("GATEWAY_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "tests" / "artifacts"
HELLO = [{"role": "user", "content": "Hello!"}]
ADMIN_KEY = "status-page-admin-key"
_FIGURE = re.compile(r"^\d+(\.\d+)? (ms|s)$")


def _browser_or_skip() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        reason = f"playwright is not installed ({exc})"
    else:
        if os.path.exists(CHROMIUM):
            return sync_playwright
        reason = f"no chromium at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"the browser test must run in CI: {reason}")
    pytest.skip(reason)


def config(upstream: str, admin_keys: str = "[]", keys: str = "[]") -> str:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there: connections are refused
    timeouts = "timeouts: {connect: 1, first_byte: 3, idle: 3, total: 10}"
    return f"""
server: {{log_level: warning, watch_config_seconds: 0}}
auth: {{admin_keys: {admin_keys}, keys: {keys}}}
apps:
  - {{name: chat-openai, frontdoor: openai, path: /openai}}
  - {{name: chat-anthropic, frontdoor: anthropic, path: /anthropic}}
providers:
  - {{name: fake-openai, type: openai, api_key: sk-fake, base_url: {upstream}/v1, {timeouts}}}
  - {{name: fake-anthropic, type: anthropic, api_key: sk-ant-fake, base_url: {upstream}, {timeouts}}}
  - name: dead-end
    type: openai
    api_key: sk-dead
    base_url: {dead}/v1
    {timeouts}
    retries: {{attempts: 1}}
    circuit_breaker: {{consecutive_failures: 1, cooldown: 600, max_cooldown: 600}}
routing:
  rules:
    - {{model_prefix: claude, provider: fake-anthropic}}
    - {{model_prefix: dead-, provider: dead-end, fallbacks: [{{provider: fake-openai, model: gpt-4o-mini}}]}}
  default_provider: fake-openai
"""


class Traffic:
    """The official SDKs from a thread until stopped (at most ``limit`` requests): plain and
    streamed calls through both apps, and every tenth one to the dead provider (it fails over)."""

    def __init__(self, gateway: GatewayProcess, limit: int = 5000) -> None:
        self.gateway, self.limit = gateway, limit
        self.sent = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        openai_client, anthropic_client = self.gateway.openai(), self.gateway.anthropic()
        while not self._stop.is_set() and self.sent < self.limit:
            n = self.sent
            try:
                if n % 10 == 9:
                    openai_client.chat.completions.create(model="dead-model", messages=HELLO)  # type: ignore[arg-type]
                elif n % 3 == 0:
                    stream = openai_client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True)  # type: ignore[arg-type]
                    for _ in stream:
                        pass
                elif n % 3 == 1:
                    with anthropic_client.messages.stream(model="claude-e2e", max_tokens=32, messages=HELLO) as events:  # type: ignore[arg-type]
                        for _ in events:
                            pass
                else:
                    anthropic_client.messages.create(model="claude-e2e", max_tokens=32, messages=HELLO)  # type: ignore[arg-type]
            except Exception as exc:  # noqa: BLE001 - reported by the test
                self.failures.append(repr(exc))
            self.sent += 1
            self._stop.wait(0.01)


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    server = FakeUpstream(record=False).start_in_thread()
    yield server
    server.stop()


def test_the_status_page_shows_live_traffic_circuits_and_latency(upstream: FakeUpstream, tmp_path: Path) -> None:
    sync_playwright = _browser_or_skip()
    with launch(config(upstream.url), tmp_path) as gateway, Traffic(gateway) as traffic:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                errors: list[str] = []  # script errors, and what the page's security policy refused
                page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
                page.on("pageerror", lambda error: errors.append(str(error)))
                response = page.goto(f"{gateway.url}/status")
                assert response is not None and response.status == 200
                assert response.headers["content-type"].startswith("text/html")
                # The page fills itself from its own fetches; wait until they saw traffic of
                # every kind: a rate, latency, time to first byte, and the dead provider open.
                page.wait_for_function(
                    """() => {
                        const text = id => (document.getElementById(id) || {}).textContent || "";
                        const open = document.querySelector('[data-provider="dead-end"] [data-state="open"]');
                        return parseFloat(text("total-rps")) > 0 && /ms|s$/.test(text("total-p99"))
                            && /ms|s$/.test(text("total-ttft-p99")) && open !== null;
                    }""",
                    timeout=30_000,
                )
                page.wait_for_timeout(3500)  # one more refresh: the page keeps itself up to date
                shown = {name: page.locator(f"#{name}").inner_text() for name in
                         ("total-rps", "total-requests", "total-p50", "total-p99", "total-ttft-p50", "total-ttft-p99")}
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "status.png"), full_page=True)
                providers = page.locator("tr[data-provider]").evaluate_all("rows => rows.map(r => r.dataset.provider)")
                apps = page.locator("tr[data-app]").evaluate_all("rows => rows.map(r => r.dataset.app)")
                states = {
                    name: page.locator(f'tr[data-provider="{name}"] [data-state]').get_attribute("data-state")
                    for name in providers
                }
                deployments = page.locator("tr[data-deployment]").evaluate_all(
                    "rows => rows.map(r => r.dataset.deployment)"
                )
                header = page.locator("header").inner_text()
                keys_hidden = page.locator("#keys-section").is_hidden()
            finally:
                browser.close()
        json_status = httpx.get(f"{gateway.url}/status", headers={"accept": "application/json"}).json()
    assert errors == []
    assert traffic.failures == [] and traffic.sent > 0
    assert apps == ["chat-openai", "chat-anthropic"]
    assert providers == ["fake-openai", "fake-anthropic", "dead-end"]
    assert states == {"fake-openai": "closed", "fake-anthropic": "closed", "dead-end": "open"}
    assert "fake-openai/gpt-4o-mini" in deployments and "fake-anthropic/claude-e2e" in deployments
    assert float(shown["total-rps"]) > 0 and int(shown["total-requests"]) > 0
    for name in ("total-p50", "total-p99", "total-ttft-p50", "total-ttft-p99"):
        assert _FIGURE.match(shown[name]), (name, shown[name])
    assert f"worker pid {json_status['worker']['pid']}" in header and "config generation 0" in header
    assert keys_hidden  # no auth.keys: no key section
    assert json_status["traffic"]["requests"] >= int(shown["total-requests"])


def test_with_admin_keys_the_page_asks_for_one_and_shows_the_status_once_given(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    sync_playwright = _browser_or_skip()
    keys = "[{name: team-a, key: sk-gw-team-a, budget: {usd: 25, period: month}}, {name: team-b, key: sk-gw-team-b}]"
    with launch(config(upstream.url, admin_keys=f"[{ADMIN_KEY}]", keys=keys), tmp_path) as gateway:
        assert httpx.get(f"{gateway.url}/status", headers={"accept": "application/json"}).status_code == 401
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                page = browser.new_page()
                response = page.goto(f"{gateway.url}/status")
                assert response is not None and response.status == 401  # the page, without data
                page.locator("#auth-key").wait_for(state="visible")
                assert page.locator("#content").is_hidden()
                page.fill("#auth-key", "not-the-key")
                page.click("#auth button")
                page.wait_for_function("() => /refused/.test(document.getElementById('auth-error').textContent)")
                page.fill("#auth-key", ADMIN_KEY)
                page.click("#auth button")
                page.locator('tr[data-provider="fake-openai"]').wait_for(state="visible")
                assert page.locator("#auth").is_hidden()
                stored = page.evaluate("() => sessionStorage.getItem('gatewayAdminKey')")
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "status-keys.png"), full_page=True)
                key_rows = page.locator("tr[data-key]").evaluate_all(
                    "rows => rows.map(r => [r.dataset.key, r.lastElementChild.textContent])"
                )
            finally:
                browser.close()
    assert stored == ADMIN_KEY
    assert key_rows == [["team-a", "$25 per month"], ["team-b", "none"]]  # auth.keys: the key section


def test_with_workers_the_page_says_which_worker_answered(upstream: FakeUpstream, tmp_path: Path) -> None:
    sync_playwright = _browser_or_skip()
    with launch(config(upstream.url), tmp_path, env={"GATEWAY_WORKERS": "2"}) as gateway:
        assert gateway.process is not None
        answers = [httpx.get(f"{gateway.url}/status?format=json").json()["worker"] for _ in range(20)]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                page = browser.new_page()
                page.goto(f"{gateway.url}/status")
                page.wait_for_function("() => /one of 2/.test(document.getElementById('worker').textContent)")
                note = page.locator("#workers-note").inner_text()
                header = page.locator("#worker").inner_text()
            finally:
                browser.close()
        supervisor = gateway.process.pid
    assert {answer["workers"] for answer in answers} == {2}
    assert supervisor not in {answer["pid"] for answer in answers}  # a worker answers, not the supervisor
    pid = int(re.search(r"worker pid (\d+)", header).group(1))  # type: ignore[union-attr]
    assert pid != supervisor
    assert "2 worker processes" in note and "/metrics sums every worker" in note
