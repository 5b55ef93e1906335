"""The real gateway process on a free loopback port, in front of the fake upstream.

The gateway runs once per outbound HTTP client kind (httptools and httpx), so every end-to-end test
proves both. The process is killed with its parent (PR_SET_PDEATHSIG), so it never outlives a
test run, and at the end of the session.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from tests.fakes.upstream import FakeUpstream

ROOT = Path(__file__).resolve().parents[2]
OPENAI_KEY = "sk-e2e-openai-key"
ANTHROPIC_KEY = "sk-ant-e2e-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def isolated_env() -> dict[str, str]:
    """The test's environment without GATEWAY_* settings and without a .env file: a
    developer's own would otherwise override the config a test wrote (GATEWAY_HTTP_CLIENT, ...)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["GATEWAY_ENV_FILE"] = os.devnull
    return env


def gateway_config(upstream_url: str, http_client: str) -> str:
    routing = """
    model_routing:
      prefix_providers: {openai: openai, anthropic: anthropic}
      rewrites:
        - {model_exact: claude-haiku-4.5, provider: openai, model: gpt-5-mini, rewrite_response_model: true}
        - {model_prefix: claude-sonnet-, provider: openai, model: gpt-5-mini, rewrite_response_model: true}
"""
    return f"""
server: {{http_client: {http_client}, log_level: warning}}
apps:
  - name: oa
    frontdoor: openai
    path: /openai
{routing}
  - name: an
    frontdoor: anthropic
    path: /anthropic
{routing}
providers:
  - name: openai
    type: openai
    api_key: {OPENAI_KEY}
    base_url: {upstream_url}/v1
    timeouts: {{connect: 2, first_byte: 3, idle: 3, total: 10}}
    retries: {{attempts: 1}}
    circuit_breaker: {{enabled: false}}
  - name: anthropic
    type: anthropic
    api_key: {ANTHROPIC_KEY}
    base_url: {upstream_url}
    timeouts: {{connect: 2, first_byte: 3, idle: 3, total: 10}}
    retries: {{attempts: 1}}
    circuit_breaker: {{enabled: false}}
routing:
  rules:
    - {{model_prefix: claude, provider: anthropic}}
    - {{model_prefix: gpt, provider: openai}}
  default_provider: openai
"""


@dataclass
class Gateway:
    url: str
    http_client: str
    process: subprocess.Popen[bytes]

    def openai(self) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.url}/openai/v1", api_key="client-own-key", max_retries=0, timeout=10)

    def anthropic(self) -> anthropic.Anthropic:
        return anthropic.Anthropic(base_url=f"{self.url}/anthropic", api_key="client-own-key", max_retries=0, timeout=10)


@pytest.fixture(scope="session")
def upstream_server() -> Iterator[FakeUpstream]:
    server = FakeUpstream().start_in_thread()
    yield server
    server.stop()


@pytest.fixture
def upstream(upstream_server: FakeUpstream) -> FakeUpstream:
    return upstream_server.reset()


@pytest.fixture(scope="session", params=["httptools", "httpx"])
def gateway(request: pytest.FixtureRequest, upstream_server: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    http_client = request.param
    config = tmp_path_factory.mktemp(f"gw-{http_client}") / "config.yaml"
    config.write_text(gateway_config(upstream_server.url, http_client))
    port = free_port()
    log = open(config.parent / "gateway.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent, env=isolated_env(),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log.close()
            pytest.fail(f"gateway did not start:\n{(config.parent / 'gateway.log').read_text()}")
        time.sleep(0.05)
    yield Gateway(url=url, http_client=http_client, process=process)
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
