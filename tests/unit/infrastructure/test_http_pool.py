"""One HTTP client per provider, of the configured kind; a proxy the default client would ignore
is named in the log."""

from __future__ import annotations

import re

import pytest
from structlog.testing import capture_logs

from adapters.outbound.http.body import ResponseLimits
from infrastructure.config.loader import ConfigError, parse_config
from infrastructure.http import PROXY_VARIABLES, HttpPool

CONFIG = """
server: {{http_client: {client}}}
providers:
  - {{name: openai, type: openai, api_key: sk-test-pool}}
  - {{name: anthropic, type: anthropic, api_key: sk-ant-test-pool}}
"""


@pytest.fixture(autouse=True)
def no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def pool(client: str) -> tuple[HttpPool, list[dict]]:
    loaded = parse_config(CONFIG.format(client=client), source="test", env={})
    with capture_logs() as logs:
        built = HttpPool.from_config(loaded.config)
    return built, logs


@pytest.mark.parametrize("client", ["httptools", "httpx"])
def test_one_client_per_provider_and_no_warning_without_a_proxy(client: str):
    built, logs = pool(client)

    assert set(built.clients) == {"openai", "anthropic"}
    assert logs == []


def test_httptools_names_the_proxy_variable_it_ignores(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("https_proxy", "http://proxy.internal:3128")

    _, logs = pool("httptools")

    assert [(r["event"], r["variables"]) for r in logs] == [("http.proxy_ignored", ["HTTPS_PROXY"])]
    assert "http_client to 'httpx'" in logs[0]["detail"]


def test_httpx_takes_the_proxy_without_a_warning(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")

    _, logs = pool("httpx")

    assert logs == []


LIMITS = """
server: {{http_client: {client}, max_sse_line_bytes: 1000, max_response_bytes: 2000}}
providers:
  - {{name: openai, type: openai, timeouts: {{stream_max: 30}}}}
  - {{name: local, type: openai}}
"""


@pytest.mark.parametrize("client", ["httptools", "httpx"])
def test_response_limits_and_stream_max_reach_every_client(client: str):
    built = HttpPool.from_config(parse_config(LIMITS.format(client=client), source="test", env={}).config)

    openai, local = built.clients["openai"], built.clients["local"]
    limits = ResponseLimits(max_response_bytes=2000, max_sse_line_bytes=1000)
    assert openai.response_limits == local.response_limits == limits
    assert (openai.timeouts.stream_max, local.timeouts.stream_max) == (30, None)


def test_limit_defaults():
    config = parse_config("providers: [{name: openai, type: openai}]", source="test", env={}).config

    assert (config.server.max_sse_line_bytes, config.server.max_response_bytes) == (
        16 * 1024**2,
        64 * 1024**2,
    )
    assert config.providers[0].timeouts.stream_max is None


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("server: {max_sse_line_bytes: 0}", "server.max_sse_line_bytes"),
        ("server: {max_response_bytes: -1}", "server.max_response_bytes"),
        (
            "providers: [{name: a, type: openai, timeouts: {stream_max: 0}}]",
            "providers[0].timeouts.stream_max",
        ),
    ],
)
def test_limits_must_be_positive(text: str, path: str):
    with pytest.raises(ConfigError, match=re.escape(path)):
        parse_config(text, source="test", env={})
