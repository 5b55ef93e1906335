"""Shared test helpers: recorded wire payloads live in tests/fixtures/<protocol>/; every log line
the suite writes is searched for configured keys when the session ends (tests/log_audit.py)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.protocols.sse import SSEDecoder, SSEFrame
from tests.log_audit import LogAudit
from tests.redis_support import RedisSpace, redis_space_fixture

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_bytes(name: str) -> bytes:
    """The bytes of ``tests/fixtures/<name>``, e.g. ``fixture_bytes("openai/chat_text.json")``."""
    return (FIXTURES / name).read_bytes()


def sse_lines(name: str) -> list[bytes]:
    """An SSE fixture split into lines, terminators stripped, as the HTTP port yields them."""
    return fixture_bytes(name).split(b"\n")


def decode_lines(lines: Iterable[bytes]) -> list[SSEFrame]:
    """The SSE frames of ``lines``, the body's end included."""
    decoder = SSEDecoder()
    return decoder.feed(lines) + decoder.finish()


def sse_frames(name: str) -> list[SSEFrame]:
    """An SSE fixture's frames, as the HTTP port yields them (its batches joined)."""
    return decode_lines(sse_lines(name))


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


def _keep_loopback_off_proxies() -> None:
    """The suite's servers are on loopback: a developer's proxy variables must not reroute them
    (the httpx client honours them)."""
    current = os.environ.get("NO_PROXY") or os.environ.get("no_proxy") or ""
    os.environ["NO_PROXY"] = ",".join(filter(None, [current, "127.0.0.1", "localhost"]))
    os.environ.pop("no_proxy", None)


_keep_loopback_off_proxies()


@pytest.fixture
def redis_space() -> Iterator[RedisSpace]:
    """The real Redis (tests/redis_support.py): skipped without one, failed under
    GATEWAY_REQUIRE_REDIS=1."""
    yield from redis_space_fixture()


@pytest.fixture(autouse=True)
def _state_file_of_its_own(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """An app with gateway keys keeps usage in a file: each test its own, never in the repo."""
    monkeypatch.setenv("GATEWAY_STATE_FILE", str(tmp_path_factory.getbasetemp() / f"state-{uuid.uuid4().hex}.sqlite3"))


# ---- the suite-wide log audit (tests/log_audit.py) ----------------------------------------------

LOG_AUDIT = LogAudit()
LOG_AUDIT.install()


@pytest.fixture(scope="session", autouse=True)
def _log_audit_sees_the_session_temp_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    LOG_AUDIT.basetemp = tmp_path_factory.getbasetemp()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--gateway-workers", type=int, default=1, metavar="N",
        help="worker processes of every gateway process the e2e tests start (python -m app --workers N)",
    )  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    os.environ["TEST_GATEWAY_WORKERS"] = str(config.getoption("--gateway-workers"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    leaks, summary = LOG_AUDIT.report()
    session.config.stash[_AUDIT_RESULT] = (leaks, summary)
    if leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    result = terminalreporter.config.stash.get(_AUDIT_RESULT, None)
    if result is None:
        return
    leaks, summary = result
    if leaks:
        terminalreporter.section("configured keys found in log lines", red=True)
        for leak in leaks[:50]:
            terminalreporter.write_line(leak)
    terminalreporter.write_line(summary)


_AUDIT_RESULT = pytest.StashKey[tuple[list[str], str]]()
