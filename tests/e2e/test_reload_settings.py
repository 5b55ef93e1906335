"""A reload does what it says: the .env file is read again (and watched), the server settings a
reload can apply take effect, and every one it cannot is named."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.launcher import GatewayProcess, launch, write_config
from tests.fakes.upstream import FakeUpstream

HELLO = [{"role": "user", "content": "Hello!"}]


def reload_config(*, server: str = "", base_url: str = "${UP_URL}") -> str:
    return f"""
server: {{log_level: info, watch_config_seconds: 0.2{server}}}
apps:
  - {{name: oa, frontdoor: openai, path: /openai}}
providers:
  - name: up
    type: openai
    api_key: sk-up
    base_url: "{base_url}"
    retries: {{attempts: 1}}
routing: {{default_provider: up}}
"""


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeUpstream, FakeUpstream]]:
    first, second = FakeUpstream().start_in_thread(), FakeUpstream().start_in_thread()
    yield first, second
    first.stop()
    second.stop()


def ask(gateway: GatewayProcess, request_id: str) -> object:
    return gateway.openai().chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=HELLO, extra_headers={"x-request-id": request_id}
    )


def reloads(gateway: GatewayProcess, count: int, timeout: float = 5.0) -> dict[str, object]:
    """The ``count``-th ``config.reloaded`` line, once every worker wrote it."""
    return gateway.wait_log(
        lambda r: r.get("event") == "config.reloaded" and r.get("generation") == count, timeout, gateway.workers
    )


def test_a_changed_env_file_is_reloaded_with_its_variables_and_gateway_settings(
    fakes: tuple[FakeUpstream, FakeUpstream], tmp_path: Path
) -> None:
    first, second = (fake.reset() for fake in fakes)
    env_file = tmp_path / ".env"
    env_file.write_text(f"UP_URL={first.url}/v1\nGATEWAY_LOG_LEVEL=warning\n")
    with launch(reload_config(), tmp_path) as gateway:
        ask(gateway, "before-reload")
        assert len(first.requests) == 1

        write_config(env_file, f"UP_URL={second.url}/v1\nGATEWAY_LOG_LEVEL=info\n")
        assert reloads(gateway, 1)["reason"] == "file_changed"
        ask(gateway, "after-reload")
        assert len(second.requests) == 1 and len(first.requests) == 1  # the new URL
        gateway.access_log("after-reload")  # info lines again: the new level applies
        assert [r for r in gateway.logs("request.completed") if r["request_id"] == "before-reload"] == []


def test_settings_a_reload_cannot_apply_are_named_and_the_others_apply(
    fakes: tuple[FakeUpstream, FakeUpstream], tmp_path: Path
) -> None:
    upstream = fakes[0].reset()
    (tmp_path / ".env").write_text(f"UP_URL={upstream.url}/v1\n")
    with launch(reload_config(), tmp_path) as gateway:
        assert "x-gateway-provider" in ask(gateway, "exposed").headers
        write_config(gateway.config, reload_config(
            server=", port: 1, workers: 3, shutdown_grace_seconds: 1, http_client: httpx, "
                   "expose_routing_headers: false, access_log: false"
        ))  # fmt: skip
        reloads(gateway, 1)
        warning = gateway.wait_log(lambda r: r.get("event") == "config.restart_needed")
        assert warning["level"] == "warning"
        # port: 1 is no change: the launcher's --port wins over the file, then as now (and so does
        # its --workers, unless it is 1, the default)
        if gateway.workers == 1:
            assert warning["settings"] == ["server.workers", "server.shutdown_grace_seconds"]
            assert warning["changes"]["server.workers"] == [1, 3]
        else:
            assert warning["settings"] == ["server.shutdown_grace_seconds"]
        started = gateway.logs("app.started")
        assert [line["http_client"] for line in started] == ["httptools"] * gateway.workers + ["httpx"] * gateway.workers

        response = ask(gateway, "hidden")
        assert response.http_response.status_code == 200  # still on its old port
        routing = ("x-gateway-provider", "x-gateway-model", "x-gateway-failover")
        assert not any(name in response.headers for name in routing)  # the cost header stays
        gateway.signal(signal.SIGHUP)  # a line logged after the request, to be sure of its absence
        reloads(gateway, 2)
        assert [r for r in gateway.logs("request.completed") if r["request_id"] == "hidden"] == []
        # the same file again: still not what the server runs with, so said again
        assert len(gateway.logs("config.restart_needed")) == 2 * gateway.workers


def test_a_reload_starts_the_file_watch_it_turns_on(
    fakes: tuple[FakeUpstream, FakeUpstream], tmp_path: Path
) -> None:
    upstream = fakes[0].reset()
    config = reload_config(base_url=f"{upstream.url}/v1")
    with launch(config.replace("watch_config_seconds: 0.2", "watch_config_seconds: 0"), tmp_path) as gateway:
        write_config(gateway.config, config)  # not watched yet
        gateway.signal(signal.SIGHUP)
        assert reloads(gateway, 1)["reason"] == "SIGHUP"
        write_config(gateway.config, config.replace("log_level: info", "log_level: debug"))
        assert reloads(gateway, 2)["reason"] == "file_changed"
