"""Driving the scale-out deployment as an operator would: landing files put into S3, runs
started with the `dagster` command line, results read back from S3 and PostgreSQL."""

import io
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

import boto3
import polars as pl
import psycopg2

from benchmarks.simulated_hourly import simulated_hourly
from mlplatform.lib.features.engineering import resource_hourly_features
from mlplatform.lib.ingest.simulator import SimulationConfig, simulate, write_landing_day
from mlplatform.lib.monitoring.coverage import DAILY_TABLES
from mlplatform_tests.scaleout.conftest import BUCKET, REPO, tool

SIMULATION = SimulationConfig(resources=8, seed=11)

# raw, clean and the resource features, then the drift report over them
PIPELINE = (
    *DAILY_TABLES[: DAILY_TABLES.index("features/resource_hourly") + 1],
    "monitoring/feature_drift",
)


def s3_client(env: dict[str, str]):
    return boto3.client(
        "s3",
        endpoint_url=env["MLPLATFORM_S3_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_REGION"],
    )


def land_simulated_days(env: dict[str, str], folder: Path, first: date, days: int) -> None:
    """Simulated landing files for `days` days, uploaded under s3://BUCKET/mlplatform/landing."""
    for day in simulate(SIMULATION, first, days):
        write_landing_day(day, folder, SIMULATION)
    client = s3_client(env)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        key = f"mlplatform/landing/{path.relative_to(folder).as_posix()}"
        client.upload_file(str(path), BUCKET, key)


def write_history(env: dict[str, str], first: date, days: int) -> None:
    """Clean and feature partitions of `days` earlier days, written straight into the S3 lake
    by the library code (their own layers are tested elsewhere): the features' lookback and
    the drift reference of the days under test."""
    clean = simulated_hourly(SIMULATION, first, days)
    tables = {
        "clean/metrics_hourly": clean,
        "features/resource_hourly": resource_hourly_features(clean),
    }
    client = s3_client(env)
    for i in range(days):
        day = first + timedelta(days=i)
        for name, table in tables.items():
            buffer = io.BytesIO()
            table.filter(pl.col("ts").dt.date() == day).write_parquet(buffer)
            client.put_object(
                Bucket=BUCKET, Key=f"mlplatform/lake/{name}/{day}.parquet", Body=buffer.getvalue()
            )


def objects(env: dict[str, str], prefix: str) -> dict[str, bytes]:
    client = s3_client(env)
    listing = client.list_objects_v2(Bucket=BUCKET, Prefix=f"mlplatform/{prefix}")
    return {
        o["Key"]: client.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read()
        for o in listing.get("Contents", [])
    }


def dagster(env: dict[str, str], *args: str) -> subprocess.Popen:
    """The `dagster` command on this code location, as its own process, output captured."""
    return subprocess.Popen(
        [tool("dagster"), *args, "-m", "mlplatform.definitions"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def materialize(
    env: dict[str, str], partition: str, select: tuple[str, ...] = PIPELINE
) -> subprocess.Popen:
    """`dagster asset materialize` for one partition; the run's steps go to the Celery
    workers (the scale-out executor)."""
    return dagster(
        env, "asset", "materialize", "--select", ",".join(select), "--partition", partition
    )


AUTOMATION = (
    ("sensor", "landing_sensor"),
    ("sensor", "automation_sensor"),
    ("sensor", "first_training_sensor"),
    ("sensor", "retrain_sensor"),
    ("schedule", "weekly_retrain_schedule"),
)


def stop_automation(env: dict[str, str]) -> None:
    """Stop the sensors and the schedule (they start running with a deployment), so that the
    backfill's runs are the only ones: what an operator does with `dagster sensor stop`."""
    stops = [dagster(env, kind, "stop", name) for kind, name in AUTOMATION]
    for (_, name), stop in zip(AUTOMATION, stops, strict=True):
        code, out = finish(stop, timeout=120)
        assert code == 0, f"could not stop {name}:\n{out[-2000:]}"


def backfill(env: dict[str, str], job: str, partitions: tuple[str, ...]) -> str:
    """`dagster job backfill`: one queued run per partition; returns the backfill id."""
    run = dagster(
        env, "job", "backfill", "-j", job, "--partitions", ",".join(partitions), "--noprompt"
    )
    code, out = finish(run, timeout=120)
    assert code == 0 and "Launched backfill job" in out, out[-3000:]
    return out.split("Launched backfill job `", 1)[1].split("`", 1)[0]


FINISHED = ("SUCCESS", "FAILURE", "CANCELED")


def wait_for_runs(instance_db: str, count: int, timeout: float = 600) -> list[str]:
    """The statuses of the instance's runs once `count` of them have finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        statuses = [s for (s,) in rows(instance_db, "SELECT status FROM runs")]
        if len(statuses) >= count and all(s in FINISHED for s in statuses):
            return statuses
        time.sleep(2)
    raise AssertionError(f"runs not finished after {timeout:.0f} s: {statuses}")


def finish(process: subprocess.Popen, timeout: float = 300) -> tuple[int, str]:
    out, _ = process.communicate(timeout=timeout)
    return process.returncode, out


def rows(url: str, sql: str) -> list[tuple]:
    with psycopg2.connect(url.replace("+psycopg2", "")) as con, con.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()
