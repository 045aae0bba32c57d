"""The landing zone is untrusted: a link is never followed, a special file never opened, and
a file over the size limit never read; each is quarantined by name with its reason, and the
rest of the day still lands."""

import os
from pathlib import Path

import dagster as dg
import polars as pl

from mlplatform.definitions import ASSETS
from mlplatform.resources.build import local_resources
from mlplatform.resources.landing import LandingZone

DAY = "2026-01-03"
SECRET = "aws_secret_access_key = wJalrXUtnFEMI"


def test_links_special_and_oversized_files_are_quarantined_unread(landing_root: Path, tmp_path):
    root = landing_root.parent
    folder = landing_root / "metrics" / DAY
    credentials = tmp_path / "credentials"
    credentials.write_text(f"timestamp,resource_id,metric_name,value\n{SECRET},x,y,1\n")
    (folder / "evil.csv").symlink_to(credentials)
    os.mkfifo(folder / "pipe.csv")  # a reader that opened it would wait for ever
    limit = (folder / "simulated.parquet").stat().st_size + 1000  # the day's own file fits
    huge = "timestamp,resource_id,metric_name,value\n" + "x" * (limit + 1)
    (folder / "huge.csv").write_text(huge)
    resources = local_resources(root)
    resources["landing"] = LandingZone(root=str(landing_root), max_file_bytes=limit)
    result = dg.materialize(
        ASSETS,
        partition_key=DAY,
        resources=resources,
        instance=dg.DagsterInstance.ephemeral(),
        selection=dg.AssetSelection.groups("raw", "clean"),
    )
    assert result.success
    quarantine = pl.read_parquet(root / "lake" / "clean" / "quarantine" / f"{DAY}.parquet")
    reasons = dict(
        quarantine.select(pl.col("source_file").str.split("/").list.last(), "reason").iter_rows()
    )
    assert reasons["evil.csv"] == "refused: a symbolic link: links are never followed"
    assert reasons["pipe.csv"] == "refused: not a regular file (a FIFO, socket or device)"
    assert reasons["huge.csv"].startswith(f"refused: {len(huge):,} bytes, over the {limit:,}")
    raw = pl.read_parquet(root / "lake" / "raw" / "cloudwatch_metrics" / f"{DAY}.parquet")
    assert not raw.select(pl.all().cast(pl.String).str.contains("wJalrXUtnFEMI").any()).row(0)[0]
    assert not any("wJalrXUtnFEMI" in str(v) for v in raw.rows())
    # the simulated file of the day landed as always
    clean = pl.read_parquet(root / "lake" / "clean" / "metrics_hourly" / f"{DAY}.parquet")
    assert clean.height == 12 * 24
