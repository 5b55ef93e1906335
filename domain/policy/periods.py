"""Budget periods on the UTC calendar: day, week (Monday to Sunday), month, and the whole time.

A period is named by an integer index: days since the epoch, weeks since the Monday before it,
months since January 1970, and 0 for ``total``. The Redis state store computes the same index
in Lua from Redis's clock (``adapters/state/redis_scripts.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime

DAY = 86400


def period_index(period: str, now: float) -> int:
    days = int(now // DAY)
    if period == "day":
        return days
    if period == "week":
        return (days + 3) // 7  # 1970-01-01 was a Thursday: +3 puts the week's start on Monday
    if period == "month":
        moment = datetime.fromtimestamp(now, UTC)
        return (moment.year - 1970) * 12 + moment.month - 1
    if period == "total":
        return 0
    raise ValueError(f"unknown budget period {period!r}")


def period_end(period: str, index: int) -> float | None:
    """When the period ``index`` ends (epoch seconds); None for ``total``."""
    if period == "day":
        return float((index + 1) * DAY)
    if period == "week":
        return float(((index + 1) * 7 - 3) * DAY)
    if period == "month":
        year, month = divmod(index + 1, 12)
        return datetime(1970 + year, month + 1, 1, tzinfo=UTC).timestamp()
    if period == "total":
        return None
    raise ValueError(f"unknown budget period {period!r}")


def period_label(period: str, index: int) -> str:
    """A name for storage keys and the usage listing: ``month:671``."""
    return f"{period}:{index}"
