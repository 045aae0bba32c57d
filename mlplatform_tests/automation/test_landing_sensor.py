import json
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg

from mlplatform.automation.partitions import daily_partitions
from mlplatform.automation.sensors import build_landing_sensor
from mlplatform.resources.landing import LandingZone

WINDOW_DAYS = 400  # the tests' partitions start on 2026-01-01 (conftest)


def _tick(root: Path, cursor: str | None, **kw) -> dg.SensorResult:
    sensor = build_landing_sensor(60, kw.pop("window_days", WINDOW_DAYS), **kw)
    with dg.build_sensor_context(
        instance=dg.DagsterInstance.ephemeral(),
        cursor=cursor,
        resources={"landing": LandingZone(root=str(root))},
    ) as context:
        return sensor(context)


def _days(result: dg.SensorResult) -> list[str]:
    """The days a tick's run requests cover, single days and ranges alike, in order."""
    days: list[str] = []
    for request in result.run_requests:
        span = request.partition_key_range
        days += (
            daily_partitions.get_partition_keys_in_range(span) if span else [request.partition_key]
        )
    return days


def _land(root: Path, relative: str, text: str = "x\n") -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _every_day_seen(root: Path) -> str:
    """A cursor in which every partition was ingested empty, so that a test sees only files."""
    return json.dumps({day: 0.0 for day in daily_partitions.get_partition_keys()})


def test_new_files_become_partition_runs_once(tmp_path: Path):
    _land(tmp_path, "metrics/2026-01-05/a.csv", "timestamp\n")
    _land(tmp_path, "cost/2026-01-06/c.csv")
    _land(tmp_path, "metrics/1999-01-01/old.csv")  # before the partitions start
    start = _every_day_seen(tmp_path)
    first = _tick(tmp_path, start)
    # two consecutive days: one run for both
    assert [r.partition_key_range for r in first.run_requests] == [
        dg.PartitionKeyRange("2026-01-05", "2026-01-06")
    ]
    assert _tick(tmp_path, first.cursor).run_requests == []  # nothing new: no run
    late = tmp_path / "metrics" / "2026-01-05" / "b.parquet"
    late.write_bytes(b"PAR1")
    stat = late.stat()
    os.utime(late, (stat.st_atime, stat.st_mtime + 10))
    again = _tick(tmp_path, first.cursor)
    assert [r.partition_key for r in again.run_requests] == ["2026-01-05"]
    assert again.run_requests[0].run_key != first.run_requests[0].run_key


def test_quiet_days_of_the_window_are_ingested_empty_older_days_are_left(tmp_path: Path):
    today = datetime.now(UTC).date()
    landed = today - timedelta(days=3)
    _land(tmp_path, f"metrics/{landed.isoformat()}/a.csv")
    result = _tick(tmp_path, None, window_days=5)
    days = [date.fromisoformat(d) for d in _days(result)]
    # every closed day of the last five, with files or not (yesterday only after the grace)
    assert landed in days
    assert min(days) >= today - timedelta(days=5)
    assert today - timedelta(days=2) in days
    assert _tick(tmp_path, result.cursor, window_days=5).run_requests == []


def test_a_tick_requests_a_bounded_number_of_days_oldest_first(tmp_path: Path):
    days = daily_partitions.get_partition_keys()[:12]
    for day in days:
        _land(tmp_path, f"metrics/{day}/a.csv")
    seen = {d: 0.0 for d in daily_partitions.get_partition_keys()[12:]}
    cursor, requested = json.dumps(seen), []
    for _ in range(3):
        result = _tick(tmp_path, cursor, max_days_per_tick=5)
        assert len(_days(result)) <= 5
        requested += _days(result)
        cursor = result.cursor
    assert requested == days
