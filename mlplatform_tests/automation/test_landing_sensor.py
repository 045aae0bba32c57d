import os
from pathlib import Path

import dagster as dg

from mlplatform.automation.sensors import landing_sensor
from mlplatform.resources.landing import LandingZone


def _tick(root: Path, cursor: str | None) -> dg.SensorResult:
    with dg.build_sensor_context(
        instance=dg.DagsterInstance.ephemeral(),
        cursor=cursor,
        resources={"landing": LandingZone(root=str(root))},
    ) as context:
        return landing_sensor(context)


def test_new_files_become_partition_runs_once(tmp_path: Path):
    (tmp_path / "metrics" / "2026-01-05").mkdir(parents=True)
    (tmp_path / "metrics" / "2026-01-05" / "a.csv").write_text("timestamp\n")
    (tmp_path / "cost" / "2026-01-06").mkdir(parents=True)
    (tmp_path / "cost" / "2026-01-06" / "c.csv").write_text("x\n")
    (tmp_path / "metrics" / "1999-01-01").mkdir(parents=True)  # before the partitions start
    (tmp_path / "metrics" / "1999-01-01" / "old.csv").write_text("x\n")
    first = _tick(tmp_path, None)
    assert sorted(r.partition_key for r in first.run_requests) == ["2026-01-05", "2026-01-06"]
    assert _tick(tmp_path, first.cursor).run_requests == []  # nothing new: no run
    late = tmp_path / "metrics" / "2026-01-05" / "b.parquet"
    late.write_bytes(b"PAR1")
    stat = late.stat()
    os.utime(late, (stat.st_atime, stat.st_mtime + 10))
    again = _tick(tmp_path, first.cursor)
    assert [r.partition_key for r in again.run_requests] == ["2026-01-05"]
    assert again.run_requests[0].run_key != first.run_requests[0].run_key
