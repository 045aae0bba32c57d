from datetime import date
from pathlib import Path

import pytest

from mlplatform.lib.ingest.landing_days import (
    consecutive_ranges,
    days_to_build,
    first_landing_day,
    landing_days,
    plan_ingestion,
)
from mlplatform.lib.ingest.open_day import closed_days

DAYS = [f"2026-01-{d:02d}" for d in range(1, 11)]


def test_landing_days_are_date_folders_with_a_visible_file(tmp_path: Path):
    for folder, name in [
        ("metrics/2026-01-03", "a.csv"),
        ("cost/2026-01-02", "c.csv"),
        ("metrics/2026-01-01", ".partial.csv"),  # hidden only: nothing landed
        ("metrics/notes", "x.csv"),  # not a day
    ]:
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / folder / name).write_text("x\n")
    (tmp_path / "metrics" / "2025-12-31").mkdir()  # empty folder
    assert landing_days(tmp_path) == [date(2026, 1, 2), date(2026, 1, 3)]
    assert first_landing_day(tmp_path) == date(2026, 1, 2)
    assert first_landing_day(tmp_path / "missing") is None


def _plan(arrivals, seen, **kw):
    args = {"window_start": DAYS[0], "empty_due_through": DAYS[-1], "max_days": 31} | kw
    return plan_ingestion(arrivals, seen, DAYS, **args)


def test_new_changed_and_quiet_days_are_planned_once_oldest_first():
    arrivals = {d: 100.0 for d in DAYS if d != "2026-01-04"} | {"2025-06-01": 5.0}
    first = _plan(arrivals, {})
    assert first.days == DAYS
    assert first.empty == ["2026-01-04"]
    assert first.outside == ["2025-06-01"]
    assert first.seen["2026-01-04"] == 0.0
    again = _plan(arrivals, first.seen)
    assert (again.days, again.outside) == ([], [])  # nothing new, nothing logged twice
    late = _plan(arrivals | {"2026-01-04": 200.0, "2026-01-02": 150.0}, first.seen)
    assert late.days == ["2026-01-02", "2026-01-04"] and late.empty == []


def test_an_open_day_waits_off_the_cursor_until_it_is_a_partition():
    today = "2026-01-11"  # DAYS ends the day before: today has no partition yet
    ingested = dict.fromkeys(DAYS, 1.0)
    plan = _plan({today: 50.0}, ingested)
    assert (plan.days, plan.outside, plan.waiting) == ([], [], [today])
    assert today not in plan.seen  # so the day's files count as new once it closes
    closed = plan_ingestion({today: 50.0}, plan.seen, [*DAYS, today], DAYS[0], DAYS[-1], 31)
    assert today in closed.days


def test_a_quiet_day_waits_for_the_grace_and_the_window_bounds_everything():
    plan = _plan({}, {}, window_start="2026-01-06", empty_due_through="2026-01-08")
    assert plan.days == ["2026-01-06", "2026-01-07", "2026-01-08"]
    assert plan.empty == plan.days


@pytest.mark.parametrize("max_days", [1, 4])
def test_a_tick_plans_at_most_max_days_and_the_rest_follow(max_days: int):
    arrivals = {d: 1.0 for d in DAYS}
    seen: dict[str, float] = {}
    planned: list[str] = []
    for _ in range(len(DAYS)):
        plan = _plan(arrivals, seen, max_days=max_days)
        assert len(plan.days) <= max_days
        assert plan.deferred == len(DAYS) - len(planned) - len(plan.days)
        planned += plan.days
        seen = plan.seen
    assert planned == DAYS


def test_consecutive_days_become_bounded_ranges():
    days = ["2026-01-05", "2026-01-01", "2026-01-02", "2026-01-03", "2026-01-07", "2026-01-08"]
    assert consecutive_ranges(days, max_days=2) == [
        ("2026-01-01", "2026-01-02"),
        ("2026-01-03", "2026-01-03"),
        ("2026-01-05", "2026-01-05"),
        ("2026-01-07", "2026-01-08"),
    ]
    assert consecutive_ranges(days, max_days=14)[0] == ("2026-01-01", "2026-01-03")
    assert consecutive_ranges([], max_days=3) == []


def test_closed_days_are_the_days_before_today():
    days = ["2026-01-08", "2026-01-09", "2026-01-10"]
    assert closed_days(days, today=date(2026, 1, 10)) == ["2026-01-08", "2026-01-09"]
    assert closed_days(days, today=date(2026, 1, 11)) == days


def test_days_to_build_run_through_the_last_closed_landed_day_within_the_window():
    d = date.fromisoformat
    landed = [d("2026-01-02"), d("2026-01-05"), d("2026-01-10")]  # 01-10 is today: open
    build = days_to_build(landed, d("2026-01-02"), 90, today=d("2026-01-10"))
    # the quiet days between landed ones are partitions too; today waits for its close
    assert build == [d("2026-01-02"), d("2026-01-03"), d("2026-01-04"), d("2026-01-05")]
    # the catch-up window cuts what is older; the first partition cuts what is earlier
    assert days_to_build(landed, d("2026-01-02"), 6, today=d("2026-01-10")) == [
        d("2026-01-04"),
        d("2026-01-05"),
    ]
    assert days_to_build(landed, d("2026-01-05"), 90, today=d("2026-01-10")) == [d("2026-01-05")]
    assert days_to_build([d("2026-01-10")], d("2026-01-10"), 90, today=d("2026-01-10")) == []
    assert days_to_build([], d("2026-01-10"), 90, today=d("2026-01-10")) == []
