"""The real gateway in front of a hostile upstream (``tests/fakes/hostile.py``), with each HTTP
client, through the official SDKs.

* Key-echoing errors, of every status and inside streams, on all four frontdoor/provider
  paths: neither the client nor the gateway's log ever sees the key.
* Gzip bombs (1.2 GiB from 1.25 MB), a 50 MiB header, a 50 MiB line, a 100 MiB body and an
  endless stream, with the default limits: each ends in a 502 (an in-stream error once the
  stream started) whose message names the limit. Meanwhile the worker answers ``/healthz``
  and its peak RSS (``VmHWM``, reset before each case) grows by less than ``RSS_BOUND``
  (100 MiB): the largest buffer a limit allows (64 MiB of response) plus room for the
  allocator. Measured: at most 67 MiB (the bombs), 17 MiB (a 50 MiB line), 2 MiB (the rest);
  the slowest health check 11 ms.
* 204 and redirects are the same error streaming or not.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.e2e.launcher import GatewayProcess, launch
from tests.fakes.hostile import (
    BadHeader,
    EchoKey,
    Endless,
    GzipBomb,
    HostileUpstream,
    HugeBody,
    HugeHead,
    HugeLine,
    Status,
)

KEYS = {
    "openai": "sk-proj-e2eHostile0openai1key2abcdefghijklmnop",
    "anthropic": "sk-ant-api03-e2eHostile-anthropic-key-0123456789",
}
MiB = 1024 * 1024
RSS_BOUND = 100 * MiB  # growth of the worker's peak RSS during one hostile case
MODEL = {"openai": "openai/gpt-4o-mini", "anthropic": "anthropic/claude-sonnet-4-5"}
PATHS = [(front, up) for front in ("openai", "anthropic") for up in ("openai", "anthropic")]
STATUSES = [400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503, 504, 529]


def config(upstream: str, http_client: str) -> str:
    provider = """
  - name: {name}
    type: {name}
    api_key: {key}
    base_url: {url}
    timeouts: {{connect: 2, first_byte: 10, idle: 10, total: 30, stream_max: 2}}
    retries: {{attempts: 1}}
    circuit_breaker: {{enabled: false}}"""
    routing = "model_routing: {prefix_providers: {openai: openai, anthropic: anthropic}}"
    return f"""
server: {{http_client: {http_client}, log_level: info}}
apps:
  - {{name: oa, frontdoor: openai, path: /openai, {routing}}}
  - {{name: an, frontdoor: anthropic, path: /anthropic, {routing}}}
providers:{provider.format(name="openai", key=KEYS["openai"], url=upstream + "/v1")}\
{provider.format(name="anthropic", key=KEYS["anthropic"], url=upstream)}
"""


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileUpstream]:
    server = HostileUpstream().start_in_thread()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["httptools", "httpx"])
def gateway(
    request: pytest.FixtureRequest, hostile: HostileUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    workdir = tmp_path_factory.mktemp(f"hostile-{request.param}")
    with launch(config(hostile.url, request.param), workdir) as running:
        yield running


@pytest.fixture(autouse=True)
def nothing_left_queued(hostile: HostileUpstream) -> Iterator[None]:
    hostile._queue.clear()
    yield
    hostile._queue.clear()


def call(gateway: GatewayProcess, frontdoor: str, provider: str, *, stream: bool) -> list[Any]:
    """One request through the SDK of ``frontdoor`` to ``provider``; a stream is read to its
    end. Returns what arrived; raises the SDK's error."""
    messages = [{"role": "user", "content": "hi"}]
    if frontdoor == "openai":
        client = gateway.openai(timeout=30)
        answer = client.chat.completions.create(model=MODEL[provider], messages=messages, stream=stream)
    else:
        client = gateway.anthropic(timeout=30)
        answer = client.messages.create(
            model=MODEL[provider], max_tokens=16, messages=messages, stream=stream
        )
    return list(answer) if stream else [answer]


def failure(
    gateway: GatewayProcess, frontdoor: str, provider: str, *, stream: bool
) -> tuple[str, int | None, str]:
    """The SDK error of a request that must fail: (message, HTTP status, body). The status
    is None, or 200 for Anthropic's SDK, for an error inside a stream that had started."""
    with pytest.raises((openai.APIError, anthropic.APIError)) as caught:
        call(gateway, frontdoor, provider, stream=stream)
    error = caught.value
    assert not isinstance(error, openai.APIConnectionError | anthropic.APIConnectionError), error
    return error.message, getattr(error, "status_code", None), repr(error.body)


def assert_no_key(*texts: str) -> None:
    for text in texts:
        for key in KEYS.values():
            assert key[:12] not in text, text


# ---- keys quoted back ------------------------------------------------------------------------


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize(("frontdoor", "provider"), PATHS)
def test_key_echoing_errors_reach_no_client_and_no_log(
    gateway: GatewayProcess, hostile: HostileUpstream, frontdoor: str, provider: str, status: int
):
    hostile.script(EchoKey(status), EchoKey(status))
    logged = len(gateway.logs("upstream.failed"))

    for stream in (False, True):
        message, got, body = failure(gateway, frontdoor, provider, stream=stream)
        assert got == expected_status(status, frontdoor)
        assert_no_key(message, body)
        if status not in (401, 403):
            assert "[redacted]" in message

    if status in (408, 429, 500, 502, 503, 504, 529):  # retryable: each failed attempt is logged
        gateway.wait_log(lambda _: len(gateway.logs("upstream.failed")) >= logged + 2)
        assert all("[redacted]" in r["error"] for r in gateway.logs("upstream.failed")[logged:])
    assert_no_key(gateway.log_path.read_text())


def expected_status(upstream: int, frontdoor: str) -> int:
    if upstream in (503, 529):
        return 529 if frontdoor == "anthropic" else 503
    return {408: 504, 500: 502, 502: 502, 504: 504}.get(upstream, upstream)


@pytest.mark.parametrize(("frontdoor", "provider"), PATHS)
def test_a_key_echoing_error_inside_a_stream_is_scrubbed(
    gateway: GatewayProcess, hostile: HostileUpstream, frontdoor: str, provider: str
):
    hostile.script(EchoKey(stream=True, after=3))

    message, _, _ = failure(gateway, frontdoor, provider, stream=True)

    assert_no_key(message)
    assert "[redacted]" in message
    gateway.wait_log(
        lambda r: r.get("event") == "upstream.stream_failed" and "[redacted]" in r.get("error", "")
    )
    assert_no_key(gateway.log_path.read_text())


@pytest.mark.parametrize("frontdoor", ["openai", "anthropic"])
def test_a_malformed_head_quoting_the_key_is_not_quoted_back(
    gateway: GatewayProcess, hostile: HostileUpstream, frontdoor: str
):
    hostile.script(BadHeader(), BadHeader())

    for stream in (False, True):
        message, status, body = failure(gateway, frontdoor, frontdoor, stream=stream)
        assert status == 502
        words = f"Provider '{frontdoor}' sent an unreadable response: {unreadable_reason(gateway)}"
        assert words in message
        assert_no_key(message, body)
    assert_no_key(gateway.log_path.read_text())


def unreadable_reason(gateway: GatewayProcess) -> str:
    """What each client's parser says of a header line without a colon."""
    return "illegal header line" if "httpx" in gateway.config.parent.name else "Invalid header token"


# ---- answers without a body ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "words"),
    [
        (Status(204), "answered HTTP 204 without a body"),
        (
            Status(302, {"location": "https://elsewhere.example.test/login?key=x"}),
            "answered HTTP 302, a redirect",
        ),
    ],
)
@pytest.mark.parametrize("frontdoor", ["openai", "anthropic"])
def test_no_content_and_redirects_are_the_same_error_streaming_or_not(
    gateway: GatewayProcess, hostile: HostileUpstream, frontdoor: str, script: Status, words: str
):
    hostile.script(script, script)

    for stream in (False, True):
        message, status, _ = failure(gateway, frontdoor, frontdoor, stream=stream)
        assert status == 502
        assert f"Provider '{frontdoor}' {words}" in message


# ---- limits, memory and liveness ------------------------------------------------------------

LIMIT_CASES = [
    (GzipBomb(), False, "sent a response body larger than server.max_response_bytes (67108864 bytes"),
    (
        GzipBomb(stream=True),
        True,
        "sent a stream line longer than server.max_sse_line_bytes (16777216 bytes)",
    ),
    (HugeHead(50 * MiB), False, "sent a response head (status line and headers) larger than 64 KiB"),
    (HugeHead(50 * MiB), True, "sent a response head (status line and headers) larger than 64 KiB"),
    (HugeLine(50 * MiB), True, "sent a stream line longer than server.max_sse_line_bytes (16777216 bytes)"),
    (
        HugeBody(100 * MiB),
        False,
        "sent a response body larger than server.max_response_bytes (67108864 bytes",
    ),
    (Endless(0.01), True, "kept a stream open longer than timeouts.stream_max (2 s); it was cut"),
]


@pytest.mark.parametrize(
    ("script", "stream", "words"),
    LIMIT_CASES,
    ids=[
        "gzip-bomb",
        "gzip-bomb-stream",
        "huge-head",
        "huge-head-stream",
        "huge-line",
        "huge-body",
        "endless",
    ],
)
@pytest.mark.parametrize("protocol", ["openai", "anthropic"])
def test_each_limit_is_a_502_naming_it_while_the_worker_stays_small_and_answers(
    gateway: GatewayProcess, hostile: HostileUpstream, protocol: str, script: Any, stream: bool, words: str
):
    hostile.script(script)
    pid = gateway.process.pid  # type: ignore[union-attr]
    before = rss(pid)
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS

    (message, status, _), health = while_polling_health(
        gateway, lambda: failure(gateway, protocol, protocol, stream=stream)
    )

    grown = peak_rss(pid) - before
    assert f"Provider '{protocol}' {words}" in message
    assert status in (502, 200, None)  # 200 / None: an in-stream error after the stream started
    assert grown < RSS_BOUND, f"peak RSS grew {grown / MiB:.0f} MiB"
    assert health and all(code == 200 for code, _ in health), health
    assert max(seconds for _, seconds in health) < 5.0, health


def while_polling_health(
    gateway: GatewayProcess, action: Callable[[], Any]
) -> tuple[Any, list[tuple[int, float]]]:
    """Run ``action`` in a thread while ``/healthz`` is asked every 50 ms; (its result, and the
    status and latency of each health check made meanwhile)."""
    result: list[Any] = []
    failure_seen: list[BaseException] = []

    def run() -> None:
        try:
            result.append(action())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            failure_seen.append(exc)

    worker = threading.Thread(target=run)
    checks: list[tuple[int, float]] = []
    with httpx.Client(base_url=gateway.url, timeout=5.0) as health:
        worker.start()
        while worker.is_alive() or not checks:
            started = time.monotonic()
            try:
                code = health.get("/healthz").status_code
            except httpx.HTTPError:
                code = 0
            checks.append((code, round(time.monotonic() - started, 3)))
            worker.join(0.05)
    if failure_seen:
        raise failure_seen[0]
    return result[0], checks


def rss(pid: int) -> int:
    return _status_kib(pid, "VmRSS") * 1024


def peak_rss(pid: int) -> int:
    return _status_kib(pid, "VmHWM") * 1024


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")
