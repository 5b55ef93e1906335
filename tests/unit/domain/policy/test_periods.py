"""Budget periods on the UTC calendar."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.policy.periods import period_end, period_index


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("period", "inside", "ends"),
    [
        ("day", "2026-12-02T23:59:59", "2026-12-03T00:00:00"),
        ("day", "2026-12-03T00:00:00", "2026-12-04T00:00:00"),
        ("week", "2026-12-06T23:59:59", "2026-12-07T00:00:00"),  # a Sunday: the week ends Monday
        ("week", "2026-12-07T00:00:00", "2026-12-14T00:00:00"),
        ("week", "1970-01-01T00:00:00", "1970-01-05T00:00:00"),
        ("month", "2026-12-31T23:59:59", "2027-01-01T00:00:00"),
        ("month", "2028-02-29T12:00:00", "2028-03-01T00:00:00"),
        ("month", "2026-01-01T00:00:00", "2026-02-01T00:00:00"),
    ],
)
def test_a_period_ends_at_the_next_utc_calendar_boundary(period: str, inside: str, ends: str) -> None:
    index = period_index(period, ts(inside))
    assert period_end(period, index) == ts(ends)
    assert period_index(period, ts(ends)) == index + 1
    assert period_index(period, ts(ends) - 0.001) == index


def test_total_never_ends() -> None:
    assert period_index("total", ts("2026-12-02T00:00:00")) == 0
    assert period_end("total", 0) is None
