"""A process killed mid-write leaves the previous version of a partition readable, and the
readers of the lake never see the half-written temporary file."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest

from mlplatform.resources.models import LakeReader

HALF_WRITE = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import polars as pl
    from mlplatform.lib.lake.atomic import atomic_write

    def write(tmp):
        pl.DataFrame({"v": list(range(100_000))}).write_parquet(tmp)
        with open(tmp, "r+b") as f:
            f.truncate(1000)  # half a Parquet file on disk, as a crash would leave it
        print("half written", flush=True)
        time.sleep(120)

    atomic_write(Path(sys.argv[1]), write)
    """
)


def test_process_killed_mid_write_keeps_the_previous_version(tmp_path: Path):
    lake = tmp_path / "lake"
    target = lake / "clean" / "metrics_hourly" / "2026-01-01.parquet"
    target.parent.mkdir(parents=True)
    pl.DataFrame({"v": [1, 2, 3]}).write_parquet(target)

    writer = subprocess.Popen(
        [sys.executable, "-c", HALF_WRITE, str(target)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout.readline().strip() == "half written"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=30)

    leftovers = [p.name for p in target.parent.iterdir() if p != target]
    assert len(leftovers) == 1 and leftovers[0].startswith(".")  # the torn temporary file
    assert pl.read_parquet(target)["v"].to_list() == [1, 2, 3]
    reader = LakeReader(base_path=str(lake))
    assert reader.partitions("clean", "metrics_hourly") == ["2026-01-01"]
    assert reader.read("clean", "metrics_hourly", ["2026-01-01"])["v"].to_list() == [1, 2, 3]
    glob = pl.scan_parquet(str(target.parent / "*.parquet")).collect()  # the warehouse's glob
    assert glob["v"].to_list() == [1, 2, 3]


def test_a_report_replaces_the_last_one_only_once_written(tmp_path: Path):
    from mlplatform.resources.monitoring import Reports

    reports = Reports(root=str(tmp_path))
    with reports.writing("feature_drift", "2026-01-05") as html:
        html.write_text("<html>first</html>")
    target = tmp_path / "feature_drift" / "2026-01-05.html"
    assert target.read_text() == "<html>first</html>"
    with pytest.raises(RuntimeError), reports.writing("feature_drift", "2026-01-05") as html:
        html.write_text("<html>half")
        assert target.read_text() == "<html>first</html>"  # the UI's link: still whole
        raise RuntimeError("Evidently failed mid-report")
    assert target.read_text() == "<html>first</html>"
    assert [p.name for p in target.parent.iterdir()] == ["2026-01-05.html"]  # no leftovers
