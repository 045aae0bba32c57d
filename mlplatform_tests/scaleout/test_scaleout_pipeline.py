"""A backfill of three daily partitions of `daily_pipeline_job` (raw -> clean -> features ->
drift): queued by `dagster job backfill`, launched by the daemon, each run's steps spread over
two Celery workers, the instance in PostgreSQL and every file in the S3 server."""

import os
import signal
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from mlplatform_tests.scaleout.conftest import REPO, Worker, tool
from mlplatform_tests.scaleout.deployment import (
    backfill,
    land_simulated_days,
    objects,
    rows,
    stop_automation,
    wait_for_runs,
    write_history,
)

pytestmark = [
    pytest.mark.scaleout,
    pytest.mark.slow,
    pytest.mark.xdist_group("scaleout"),
]  # see conftest


@pytest.fixture
def daemon(scaleout_env: dict[str, str], tmp_path: Path) -> Iterator[Path]:
    """`dagster-daemon run` (run queue, backfills), started once the sensors and schedule
    are stopped so that the backfill's runs are the only ones; yields its log file."""
    stop_automation(scaleout_env)
    log = tmp_path / "daemon.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [tool("dagster-daemon"), "run", "-m", "mlplatform.definitions"],
            cwd=REPO,
            env=scaleout_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield log
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


HISTORY = date(2026, 1, 1)  # 14 days of clean and features: lookback and drift reference
DAYS = ("2026-01-15", "2026-01-16", "2026-01-17")


def test_backfill_of_three_partitions_on_two_workers(
    tmp_path: Path,
    scaleout_env: dict[str, str],
    celery_workers: list[Worker],
    daemon: Path,
):
    write_history(scaleout_env, HISTORY, 14)
    land_simulated_days(scaleout_env, tmp_path / "landing", date.fromisoformat(DAYS[0]), 3)
    backfill_id = backfill(scaleout_env, "daily_pipeline_job", DAYS)
    instance_db = scaleout_env["MLPLATFORM_PG_URL"]
    assert wait_for_runs(instance_db, 3) == ["SUCCESS"] * 3, daemon.read_text()[-4000:]
    tags = rows(
        instance_db,
        "SELECT t.value, p.value FROM run_tags t JOIN run_tags p ON p.run_id = t.run_id "
        "WHERE t.key = 'dagster/backfill' AND p.key = 'dagster/partition'",
    )
    assert sorted(tags) == [(backfill_id, day) for day in DAYS]

    lake = objects(scaleout_env, "lake/")
    for day in DAYS:
        for key in (
            "raw/cloudwatch_metrics",
            "clean/metrics_hourly",
            "clean/other_metrics_hourly",
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
