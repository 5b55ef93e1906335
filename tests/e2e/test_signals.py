"""Real signals against the real gateway process: graceful SIGTERM, SIGHUP reload (valid and
invalid configs) and reload on a change of the config file."""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from tests.e2e.launcher import GatewayProcess, launch, write_config
from tests.fakes.upstream import FakeUpstream, Stall, sse_fixture

HELLO = [{"role": "user", "content": "Hello!"}]
GRACE = 5.0
ALIAS = "rewrite_response_model: true"  # so /v1/models lists the rewrite's own name


def signals_config(
    upstream: str, *, new_model: str | None = None, watch: float = 0, grace: float = GRACE
) -> str:
    """One OpenAI app and provider; ``new_model`` adds a rewrite (and so a /v1/models entry)."""
    rewrite = ""
    if new_model:
        rewrite = f"\n        - {{model_exact: {new_model}, provider: up, model: gpt-new, {ALIAS}}}"
    return f"""
server: {{log_level: info, watch_config_seconds: {watch}, shutdown_grace_seconds: {grace}}}
apps:
  - name: oa
    frontdoor: openai
    path: /openai
    model_routing:
      rewrites:
        - {{model_exact: old-model, provider: up, model: gpt-old, {ALIAS}}}{rewrite}
providers:
  - name: up
    type: openai
    api_key: sk-up
    base_url: {upstream}/v1
    timeouts: {{connect: 2, first_byte: 10, idle: 10, total: 30}}
    retries: {{attempts: 1}}
routing:
  default_provider: up
"""


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeUpstream, FakeUpstream]]:
    old, new = FakeUpstream().start_in_thread(), FakeUpstream().start_in_thread()
    yield old, new
    old.stop()
    new.stop()


@pytest.fixture
def upstream(fakes: tuple[FakeUpstream, FakeUpstream]) -> FakeUpstream:
    fakes[1].reset()
    return fakes[0].reset()


@pytest.fixture
def new_upstream(fakes: tuple[FakeUpstream, FakeUpstream]) -> FakeUpstream:
    return fakes[1]


def slow_stream(delay_ms: float = 100) -> object:
    return sse_fixture("openai/stream_text_with_usage.sse", delay_ms=delay_ms)  # 26 frames


def model_ids(gateway: GatewayProcess) -> list[str]:
    return [m.id for m in gateway.openai().models.list()]


class Reader:
    """Reads an open SDK stream to its end in a thread; ``text`` and ``error`` when done."""

    def __init__(self, chunks: Iterator[object]) -> None:
        self.text = ""
        self.error: BaseException | None = None
        self._chunks = chunks
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for chunk in self._chunks:
                if chunk.choices:  # type: ignore[attr-defined]
                    self.text += chunk.choices[0].delta.content or ""  # type: ignore[attr-defined]
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            self.error = exc

    def join_failed(self, timeout: float = 10) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the stream did not end"

    def join(self, timeout: float = 10) -> str:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the stream did not finish"
        assert self.error is None, self.error
        return self.text


def open_stream(gateway: GatewayProcess, model: str = "gpt-4o-mini") -> tuple[str, Reader]:
    """Start a stream, read its first chunk here, the rest in a thread; (first text, reader)."""
    chunks = iter(gateway.openai().chat.completions.create(model=model, messages=HELLO, stream=True))
    first = next(chunks)
    return (first.choices[0].delta.content or "") if first.choices else "", Reader(chunks)


def refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except ConnectionRefusedError:
        return True
    return False


def wait_until(predicate, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


# ---- SIGTERM -----------------------------------------------------------------------------------
def test_sigterm_lets_in_flight_requests_finish_refuses_new_ones_and_exits_0(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    upstream.script(slow_stream(), Stall(1.0))  # a 2.5 s stream, then a reply after 1 s
    with launch(signals_config(upstream.url), tmp_path) as gateway:
        first, stream = open_stream(gateway)
        replies: list[str] = []

        def wait_for_reply() -> None:
            reply = gateway.openai().chat.completions.create(model="gpt-4o-mini", messages=HELLO)
            replies.append(reply.choices[0].message.content or "")

        waiting = threading.Thread(target=wait_for_reply, daemon=True)
        waiting.start()
        assert upstream.wait_for_sync(lambda: upstream.in_flight == 2)

        signalled = time.monotonic()
        gateway.signal(signal.SIGTERM)
        assert wait_until(lambda: refuses_connections(gateway.port), timeout=2)
        assert gateway.process is not None and gateway.process.poll() is None  # still serving in-flight ones

        text = first + stream.join()
        assert text.startswith("Hello from the fake upstream!") and text.endswith("The end.")
        waiting.join(10)
        assert replies and replies[0].startswith("Hello from the fake upstream!")
        assert gateway.wait(GRACE + 2) == 0
        assert time.monotonic() - signalled < GRACE + 2
        gateway.wait_log(lambda r: r.get("event") == "app.stopped")  # the lifespan shutdown ran
    assert upstream.disconnects == 0  # nothing was cut


def test_sigterm_exit_code_is_0(upstream: FakeUpstream, tmp_path: Path) -> None:
    with launch(signals_config(upstream.url), tmp_path) as gateway:
        gateway.signal(signal.SIGTERM)
        assert gateway.wait(GRACE + 2) == 0


def test_sigterm_cuts_what_outlives_the_grace_period_and_still_exits(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    upstream.script(sse_fixture("openai/stream_text_with_usage.sse", stall_after=2, stall_seconds=30))
    with launch(signals_config(upstream.url, grace=1), tmp_path) as gateway:
        _, stream = open_stream(gateway)
        signalled = time.monotonic()
        gateway.signal(signal.SIGTERM)
        code = gateway.wait(10)
        assert time.monotonic() - signalled < 1 + 3
        assert code == 0
        stream.join_failed()
        # The stream was cut when the grace period ran out: today the client sees the connection
        # drop (APIConnectionError); an in-stream error event would be an APIError too.
        assert isinstance(stream.error, openai.APIError)
    assert upstream.wait_for_sync(lambda: upstream.disconnects == 1)  # the upstream was let go


# ---- SIGHUP ------------------------------------------------------------------------------------
def test_sighup_with_a_valid_config_serves_new_requests_with_it_while_in_flight_ones_finish_on_the_old(
    upstream: FakeUpstream, new_upstream: FakeUpstream, tmp_path: Path
) -> None:
    upstream.script(slow_stream())
    with launch(signals_config(upstream.url), tmp_path) as gateway:
        assert "new-model" not in model_ids(gateway)
        first, stream = open_stream(gateway)

        write_config(gateway.config, signals_config(new_upstream.url, new_model="new-model"))
        gateway.signal(signal.SIGHUP)
        reloaded = gateway.wait_log(lambda r: r.get("event") == "config.reloaded", count=gateway.workers)
        assert reloaded["reason"] == "SIGHUP"

        assert "new-model" in model_ids(gateway)  # new requests see the new config at once...
        reply = gateway.openai().chat.completions.create(model="new-model", messages=HELLO)
        assert reply.choices[0].message.content.startswith("Hello from the fake upstream!")
        assert [r.json["model"] for r in new_upstream.requests] == ["gpt-new"]  # ...and its provider URL
        # the old generation still serves the stream (another worker's may have retired)
        assert len(gateway.logs("app.stopped")) < gateway.workers

        text = first + stream.join()
        assert text.endswith("The end.")  # the stream finished on the old config, whole
        assert len(upstream.requests) == 1 and upstream.disconnects == 0
        gateway.wait_log(lambda r: r.get("event") == "app.stopped", count=gateway.workers)  # then it retired


@pytest.mark.parametrize(
    "broken",
    [
        "server: [not: valid: yaml\n",
        "providers:\n  - {name: up, type: openai, bogus_key: 1}\n",
        "providers: [{name: up, type: openai}]\n"
        "routing: {default_provider: {provider: up, fallbacks: [{provider: ghost}]}}\n",
    ],
    ids=["bad_yaml", "unknown_key", "unknown_fallback_provider"],
)
def test_sighup_with_an_invalid_config_is_refused_and_the_old_one_keeps_serving(
    upstream: FakeUpstream, tmp_path: Path, broken: str
) -> None:
    with launch(signals_config(upstream.url), tmp_path) as gateway:
        write_config(gateway.config, broken)
        gateway.signal(signal.SIGHUP)
        refused = gateway.wait_log(lambda r: r.get("event") == "config.reload_refused", count=gateway.workers)
        assert refused["level"] == "error" and refused["reason"] == "SIGHUP"
        assert gateway.logs("config.reloaded") == []
        assert "old-model" in model_ids(gateway)
        reply = gateway.openai().chat.completions.create(model="old-model", messages=HELLO)
        assert reply.choices[0].message.content.startswith("Hello from the fake upstream!")
        assert upstream.requests[-1].json["model"] == "gpt-old"
        assert gateway.process is not None and gateway.process.poll() is None


# ---- file watch --------------------------------------------------------------------------------
def test_a_changed_config_file_is_reloaded_and_a_broken_one_refused(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    with launch(signals_config(upstream.url, watch=0.2), tmp_path) as gateway:
        write_config(gateway.config, signals_config(upstream.url, new_model="watched-model", watch=0.2))
        reloaded = gateway.wait_log(lambda r: r.get("event") == "config.reloaded", count=gateway.workers)
        assert reloaded["reason"] == "file_changed"
        assert "watched-model" in model_ids(gateway)

        write_config(gateway.config, "apps: 7\n")
        refused = gateway.wait_log(lambda r: r.get("event") == "config.reload_refused", count=gateway.workers)
        assert refused["reason"] == "file_changed"
        assert "watched-model" in model_ids(gateway)  # the last good config keeps serving
        reply = gateway.openai().chat.completions.create(model="watched-model", messages=HELLO)
        assert upstream.requests[-1].json["model"] == "gpt-new" and reply.choices
