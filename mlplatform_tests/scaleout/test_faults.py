"""Faults with nothing lost: a worker killed mid-step, and an S3 endpoint that goes away."""

import time
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from mlplatform_tests.scaleout.conftest import Worker
from mlplatform_tests.scaleout.deployment import (
    finish,
    land_simulated_days,
    materialize,
    objects,
    rows,
    write_history,
)

pytestmark = [
    pytest.mark.scaleout,
    pytest.mark.slow,
    pytest.mark.xdist_group("scaleout"),
]  # see conftest

HISTORY = date(2026, 1, 1)
DAY = "2026-01-15"
DRIFT_STEP = 'Submitting celery task for step "monitoring__feature_drift"'


def busy(workers: list[Worker]) -> list[Worker]:
    return [w for w in workers if w.text().count("received") > w.text().count("succeeded in")]


def test_worker_killed_mid_step(
    tmp_path: Path, scaleout_env: dict[str, str], celery_workers: list[Worker]
):
    write_history(scaleout_env, HISTORY, 14)
    land_simulated_days(scaleout_env, tmp_path / "landing", date.fromisoformat(DAY), 1)
    run = materialize(scaleout_env, DAY)
    output = []
    for line in run.stdout:
        output.append(line)
        if DRIFT_STEP in line:
            break
    instance_db = scaleout_env["MLPLATFORM_PG_URL"]
    deadline = time.monotonic() + 60
    while drift_starts(instance_db) == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    victims = busy(celery_workers)
    assert drift_starts(instance_db) == 1 and len(victims) == 1, "the drift step never started"
    victims[0].kill()  # mid-step: started, nothing written yet (Evidently takes seconds)
    code, rest = finish(run)
    assert code == 0, ("".join(output) + rest)[-4000:]
    assert drift_starts(instance_db) == 2  # begun on the lost worker, redelivered to the other
    first = lake_tables(scaleout_env)

    code, out = finish(materialize(scaleout_env, DAY))  # a re-run on the remaining worker
    assert code == 0, out[-4000:]
    again = lake_tables(scaleout_env)
    assert set(again) == set(first)
    for key, table in first.items():
        assert table.equals(again[key]), key  # replaced, identical, never appended
    features = again[f"mlplatform/lake/features/resource_hourly/{DAY}.parquet"]
    assert features.height == features.select("resource_id", "ts").n_unique() == 8 * 24


def drift_starts(instance_db: str) -> int:
    query = (
        "SELECT count(*) FROM event_logs WHERE dagster_event_type = 'STEP_START' "
        "AND step_key = 'monitoring__feature_drift'"
    )
    return rows(instance_db, query)[0][0]


def lake_tables(env: dict[str, str]) -> dict[str, pl.DataFrame]:
    """The day's partitions of every layer the run wrote."""
    return {
        key: pl.read_parquet(body)
        for key, body in objects(env, "lake/").items()
        if key.endswith(f"{DAY}.parquet")
    }
