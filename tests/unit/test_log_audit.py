"""The suite's log audit (tests/log_audit.py) really sees log lines, and finds a key in them."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from adapters.outbound.scrub import Scrubber
from tests.conftest import LOG_AUDIT
from tests.log_audit import LogAudit

KEY = "sk-audit-selftest-0123456789"


def test_lines_of_structlog_and_stdlib_in_this_process_reach_the_audit() -> None:
    before = len(LOG_AUDIT.lines)

    structlog.get_logger("audit.selftest").warning("audit.selftest", value="structlog-line-seen")
    logging.getLogger("audit.selftest").warning("stdlib-line-seen")

    seen = b"\n".join(LOG_AUDIT.lines[before:])
    assert b"structlog-line-seen" in seen and b"stdlib-line-seen" in seen


def test_keys_of_every_scrubber_built_are_searched_for() -> None:
    Scrubber(["sk-audit-registered-0123456789", "short"])

    assert "sk-audit-registered-0123456789" in LOG_AUDIT.secrets
    assert "short" not in LOG_AUDIT.secrets


@pytest.fixture
def outside() -> Iterator[Path]:
    """A directory outside the session's temporary one, which the real audit searches."""
    with tempfile.TemporaryDirectory(prefix="log-audit-selftest-") as name:
        yield Path(name)


def test_a_key_or_its_prefix_in_a_gateway_log_or_an_in_process_line_is_a_leak(outside: Path) -> None:
    tmp_path = outside
    (tmp_path / "gw").mkdir()
    (tmp_path / "gw" / "config.yaml").write_text(
        f"providers:\n  - {{name: a, type: openai, api_key: {KEY}}}\n"
        '  - {name: b, type: openai, api_key: "${X}"}\n'
    )
    (tmp_path / "gw" / "gateway.log").write_bytes(
        b'{"event":"ok"}\n{"event":"upstream.failed","error":"bad key ' + KEY[:14].encode() + b'****"}\n'
    )
    audit = LogAudit(lines=[b'{"event":"clean"}', b"Bearer " + KEY.encode()], basetemp=tmp_path)

    leaks, summary = audit.report()

    assert [leak.split(": key")[0] for leak in leaks] == ["in-process line 2", "gw/gateway.log:2"]
    assert summary.startswith("log audit: 4 log lines (2 in-process, the rest in 1 gateway log files)")
    assert summary.endswith("searched for 1 configured keys: 2 LEAKS")


def test_clean_lines_pass(outside: Path) -> None:
    audit = LogAudit(
        lines=[b'{"event":"upstream.failed","error":"bad key [redacted]"}'], secrets={KEY}, basetemp=outside
    )

    assert audit.report()[0] == []
