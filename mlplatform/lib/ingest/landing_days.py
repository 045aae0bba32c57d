"""Which days a local landing zone holds, read from its folder names alone."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

SOURCES = ("metrics", "cost")


def landing_days(root: Path) -> list[date]:
    """Every `<source>/<YYYY-MM-DD>/` folder below `root` that holds a visible file, sorted.
    Folders whose name is not a date are not days, and are left for the readers to report."""
    days: set[date] = set()
    for source in SOURCES:
        folder = root / source
        if not folder.is_dir():
            continue
        for day_folder in folder.iterdir():
            try:
                day = date.fromisoformat(day_folder.name)
            except ValueError:
                continue
            if day_folder.is_dir() and any(
                f.is_file() and not f.name.startswith(".") for f in day_folder.rglob("*")
            ):
                days.add(day)
    return sorted(days)


def first_landing_day(root: Path) -> date | None:
    days = landing_days(root)
    return days[0] if days else None


def days_to_build(
    landed: Sequence[date], first_partition: date, window_days: int, today: date
) -> list[date]:
    """The closed days a deployment builds on its own for what has landed: every partition
    of the catch-up window through the last closed day with a file (a quiet day in between
    is built too, as an empty day). Later quiet days are not waited for; days before the
    window are left to a backfill."""
    closed = [d for d in landed if d < today]
    if not closed:
        return []
    first = max(first_partition, today - timedelta(days=window_days))
    return [first + timedelta(days=n) for n in range((closed[-1] - first).days + 1)]


@dataclass(frozen=True)
class IngestionPlan:
    """What the landing sensor asks for on one tick, and its next cursor."""

    days: list[str]  # partitions to ingest, oldest first
    empty: list[str]  # of those, closed days with no file at all
    outside: list[str]  # days with files that are no partition of the window: not ingested
    waiting: list[str]  # days with files that have not closed yet: ingested once they have
    deferred: int  # due days left for the next tick by the per-tick bound
    seen: dict[str, float]  # the cursor: per day, the newest arrival ingested (0.0: empty)


def plan_ingestion(
    arrivals: Mapping[str, float],
    seen: Mapping[str, float],
    partitions: Sequence[str],
    window_start: str,
    empty_due_through: str,
    max_days: int,
) -> IngestionPlan:
    """Days whose files are new or changed since they were last ingested, and closed days of
    the window with no file at all once `empty_due_through` has passed them (an empty raw
    partition says "nothing landed" and lets the days after it build their lookback).

    `arrivals` maps a day to its newest file's modification time; `seen` is the cursor; days
    are ISO dates, so they compare as strings. At most `max_days` are planned; the oldest go
    first, since a day's features look back at the days before it."""
    in_window = [d for d in partitions if d >= window_start]
    valid = set(in_window)
    changed = {d for d, t in arrivals.items() if t > seen.get(d, -1.0)}
    # a day after the last partition is still open (a poller lands it hour by hour): it
    # waits, off the cursor, and is ingested once it closes and becomes a partition
    last = partitions[-1] if partitions else ""
    waiting = sorted(d for d in changed if d > last)
    outside = sorted(d for d in changed if d not in valid and d <= last)
    quiet = {d for d in in_window if d not in arrivals and d not in seen and d <= empty_due_through}
    due = sorted((changed & valid) | quiet)
    planned = due[:max_days]
    cursor = dict(seen)
    cursor.update({d: arrivals[d] for d in outside})
    cursor.update({d: arrivals.get(d, 0.0) for d in planned})
    return IngestionPlan(
        days=planned,
        empty=[d for d in planned if d in quiet],
        outside=outside,
        waiting=waiting,
        deferred=len(due) - len(planned),
        seen=cursor,
    )


def consecutive_ranges(days: Sequence[str], max_days: int) -> list[tuple[str, str]]:
    """Sorted ISO days as (first, last) runs of consecutive days, none longer than `max_days`:
    one ranged run each instead of one run per day."""
    ranges: list[list[date]] = []
    for day in sorted(date.fromisoformat(d) for d in days):
        current = ranges[-1] if ranges else None
        if current and (day - current[-1]).days == 1 and len(current) < max_days:
            current.append(day)
        else:
            ranges.append([day])
    return [(r[0].isoformat(), r[-1].isoformat()) for r in ranges]
