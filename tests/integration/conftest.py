"""The ASGI app in-process, its providers answered by an upstream scripted per URL on loopback
(``upstream.py``), once with each outbound HTTP client (``http_client``).

Retries and circuit breakers are off here: these tests pin one upstream answer to one client
answer. The resilience policies have their own tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from litestar.testing import AsyncTestClient

from app.asgi import build_asgi
from infrastructure.config.loader import LoadedConfig, parse_config
from tests.fakes.upstream import FakeUpstream
from tests.integration.upstream import UpstreamMock

OPENAI_URL = "http://openai.test/v1/chat/completions"
ANTHROPIC_URL = "http://anthropic.test/v1/messages"
OPENAI_KEY = "sk-test-openai-secret"
ANTHROPIC_KEY = "sk-ant-test-secret"

CONFIG = f"""
server: {{http_client: httpx, max_body_bytes: 200000}}
apps:
  - name: oa
    frontdoor: openai
    path: /openai
    model_routing:
      prefix_providers: {{openai: openai, anthropic: anthropic}}
      rewrites:
        - {{model_exact: claude-haiku-4.5, provider: openai, model: gpt-5-mini, rewrite_response_model: true}}
        - {{model_exact: sonnet-on-anthropic, provider: anthropic, model: claude-sonnet-4-5, rewrite_response_model: true}}
    models:
      - {{id: claude-haiku-4.5, owned_by: gateway}}
  - name: an
    frontdoor: anthropic
    path: /anthropic
    model_routing:
      prefix_providers: {{openai: openai, anthropic: anthropic}}
      rewrites:
        - {{model_exact: claude-haiku-4.5, provider: openai, model: gpt-5-mini, rewrite_response_model: true}}
        - {{model_exact: haiku, provider: anthropic, model: claude-haiku-4-5, rewrite_response_model: true}}
    models:
      - {{id: claude-haiku-4.5, display_name: Claude Haiku 4.5}}
providers:
  - name: openai
    type: openai
    api_key: {OPENAI_KEY}
    base_url: http://openai.test/v1
    timeouts: {{connect: 1, first_byte: 2, idle: 2, total: 5}}
    retries: {{attempts: 1}}
    circuit_breaker: {{enabled: false}}
  - name: anthropic
    type: anthropic
    api_key: {ANTHROPIC_KEY}
    base_url: http://anthropic.test
    timeouts: {{connect: 1, first_byte: 2, idle: 2, total: 5}}
    retries: {{attempts: 1}}
    circuit_breaker: {{enabled: false}}
  - name: keyless
    type: openai
    api_key: "${{GATEWAY_TEST_UNSET_KEY}}"
    base_url: http://keyless.test/v1
routing:
  rules:
    - {{model_prefix: claude, provider: anthropic}}
    - {{model_prefix: nokey, provider: keyless}}
  default_provider: openai
"""


@pytest.fixture
def scripted() -> Iterator[UpstreamMock]:
    # On a thread of its own: the test client runs the app on another loop and waits for it.
    fake = FakeUpstream().start_in_thread()
    try:
        mock = UpstreamMock(fake)
        yield mock
        mock.assert_all_answered()
    finally:
        fake.stop()


@pytest.fixture(params=["httptools", "httpx"])
def http_client(request: pytest.FixtureRequest) -> str:
    return request.param


def config_for(text: str, scripted: UpstreamMock, http_client: str) -> LoadedConfig:
    """``text`` with its providers served by ``scripted``, through ``http_client``."""
    text = scripted.route_hosts(text).replace("http_client: httpx", f"http_client: {http_client}", 1)
    return parse_config(text, source="integration", env={})


@pytest.fixture
async def gateway(scripted: UpstreamMock, http_client: str) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=build_asgi(config_for(CONFIG, scripted, http_client))) as client:
        yield client


def sse(body: bytes, chunk: int = 0) -> list[bytes]:
    """An SSE body cut into pieces (``chunk`` bytes each, or per frame) as a server sends it."""
    if chunk:
        return [body[i : i + chunk] for i in range(0, len(body), chunk)]
    return [part + b"\n\n" for part in body.split(b"\n\n") if part]
