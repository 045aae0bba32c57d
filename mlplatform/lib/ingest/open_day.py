"""The open day: today (UTC) is a partition that is still filling."""

from collections.abc import Iterable
from datetime import UTC, date, datetime


def today_utc() -> date:
    return datetime.now(UTC).date()


def closed_days(days: Iterable[str], today: date | None = None) -> list[str]:
    """The ISO days before `today` (default: today in UTC), in their order: the days that
    are complete, for what needs a whole day (training, drift, daily cost)."""
    cutoff = (today or today_utc()).isoformat()
    return [d for d in days if d < cutoff]
