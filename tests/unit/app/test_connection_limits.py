"""The connection cap fits the open-files limit: raised to fit where the hard limit allows,
else the cap is lowered, with a warning."""

from __future__ import annotations

import resource

import pytest
import structlog

from app import connections
from app.connections import FILES_RESERVED, open_files_budget


class Limits:
    def __init__(self, soft: int, hard: int) -> None:
        self.soft, self.hard = soft, hard

    def get(self, which: int) -> tuple[int, int]:
        assert which == resource.RLIMIT_NOFILE
        return self.soft, self.hard

    def set(self, which: int, limits: tuple[int, int]) -> None:
        if limits[0] > self.hard:
            raise ValueError("not allowed")
        self.soft, self.hard = limits


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> Limits:
    fake = Limits(256, 256)
    monkeypatch.setattr(connections.resource, "getrlimit", fake.get)
    monkeypatch.setattr(connections.resource, "setrlimit", fake.set)
    return fake


def test_the_soft_limit_is_raised_to_fit_the_cap(limits: Limits) -> None:
    limits.hard = 100_000
    assert open_files_budget(4096) == 4096
    assert limits.soft == 2 * 4096 + FILES_RESERVED


def test_where_the_hard_limit_is_too_low_the_cap_is_lowered_with_a_warning(limits: Limits) -> None:
    with structlog.testing.capture_logs() as logs:
        assert open_files_budget(4096) == (256 - FILES_RESERVED) // 2
    (warning,) = [line for line in logs if line["event"] == "server.max_client_connections_lowered"]
    assert warning["configured"] == 4096 and warning["open_files_limit"] == 256


def test_a_cap_that_fits_changes_nothing(limits: Limits) -> None:
    limits.soft = limits.hard = 100_000
    assert open_files_budget(1000) == 1000
    assert limits.soft == 100_000
