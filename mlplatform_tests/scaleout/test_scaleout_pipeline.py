"""Raw -> clean -> features -> drift for three daily partitions, each run's steps spread over
two Celery workers, the instance in PostgreSQL and every file in the S3 server."""

import subprocess
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from mlplatform_tests.scaleout.conftest import Worker, tool
from mlplatform_tests.scaleout.deployment import (
    finish,
    land_simulated_days,
    materialize,
    objects,
    rows,
    write_history,
)

pytestmark = [pytest.mark.scaleout, pytest.mark.slow]

HISTORY = date(2026, 1, 1)  # 14 days of clean and features: lookback and drift reference
DAYS = ("2026-01-15", "2026-01-16", "2026-01-17")


def test_three_partitions_on_two_workers(
    tmp_path: Path, scaleout_env: dict[str, str], celery_workers: list[Worker]
):
    write_history(scaleout_env, HISTORY, 14)
    land_simulated_days(scaleout_env, tmp_path / "landing", date.fromisoformat(DAYS[0]), 3)
    runs = [materialize(scaleout_env, day) for day in DAYS]  # what a backfill launches
    for day, run in zip(DAYS, runs, strict=True):
        code, out = finish(run)
        assert code == 0, f"{day}:\n{out[-4000:]}"

    lake = objects(scaleout_env, "lake/")
    for day in DAYS:
        for key in (
            "raw/cloudwatch_metrics",
            "clean/metrics_hourly",
            "clean/quarantine",
            "features/resource_hourly",
            "monitoring/feature_drift",
        ):
            assert f"mlplatform/lake/{key}/{day}.parquet" in lake, (key, day)
    features = pl.read_parquet(lake[f"mlplatform/lake/features/resource_hourly/{DAYS[-1]}.parquet"])
    assert features.height == 8 * 24  # 8 simulated resources, one row per hour
    reports = objects(scaleout_env, "reports/feature_drift/")
    assert {f"mlplatform/reports/feature_drift/{d}.html" for d in DAYS} <= set(reports)
    assert all(b"<html" in reports[f"mlplatform/reports/feature_drift/{d}.html"] for d in DAYS)

    instance_db = scaleout_env["MLPLATFORM_PG_URL"]
    assert [r[0] for r in rows(instance_db, "SELECT status FROM runs")] == ["SUCCESS"] * 3
    materialized = rows(
        instance_db,
        "SELECT DISTINCT partition FROM event_logs WHERE dagster_event_type = "
        "'ASSET_MATERIALIZATION' AND asset_key = '[\"monitoring\", \"feature_drift\"]'",
    )
    assert sorted(r[0] for r in materialized) == list(DAYS)
    # SQL over the S3 lake: Polars reads it, DuckDB queries it
    query = "SELECT count(*) FROM features.resource_hourly"
    sql = subprocess.run(
        [tool("mlplatform"), "sql", query, "--csv"],
        env=scaleout_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert sql.returncode == 0, sql.stderr[-3000:]
    assert sql.stdout.splitlines()[1] == str((14 + 3) * 8 * 24)
    # both workers ran steps: the runs really were spread over them
    for worker in celery_workers:
        assert worker.text().count("succeeded in") >= 2, worker.text()[-3000:]
