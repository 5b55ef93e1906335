"""One HTTP client per provider, of the configured kind; a proxy the default client would ignore
is named in the log."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from infrastructure.config.loader import parse_config
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
