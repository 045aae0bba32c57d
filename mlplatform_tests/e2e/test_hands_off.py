"""The platform runs itself: a real `dagster dev` (webserver + daemon) on a seeded temporary
deployment, nobody clicking, until every layer is built for the seeded days."""

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from mlplatform.lib.models.promotion import naive_fallback
from mlplatform.lib.models.registry import CHAMPION, Registry
from mlplatform.lib.monitoring.coverage import not_built

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# drift compares week-over-week ratios: the ninth day is the first with a reference
SEED_DAYS, RESOURCES = 9, 10
DEADLINE_SECONDS = 15 * 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _instance_yaml(home: Path) -> str:
    """The repository's dagster.yaml (queued runs, nux off), its folders moved under `home`."""
    return (REPO / "dagster.yaml").read_text().replace(".dagster", str(home / ".dagster"))


def _runs(home: Path, monkeypatch: pytest.MonkeyPatch) -> list[dg.DagsterRun]:
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        return list(instance.get_runs())


FINISHED = {
    dg.DagsterRunStatus.SUCCESS,
    dg.DagsterRunStatus.FAILURE,
    dg.DagsterRunStatus.CANCELED,
}


def _in_flight(home: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Runs not finished yet: a run writes its outputs before it has recorded them."""
    return [f"run {_describe(r)}" for r in _runs(home, monkeypatch) if r.status not in FINISHED]


def _describe(run: dg.DagsterRun) -> str:
    tags = run.tags
    days = tags.get("dagster/partition") or (
        f"{tags.get('dagster/asset_partition_range_start', '')}.."
        f"{tags.get('dagster/asset_partition_range_end', '')}"
    )
    assets = sorted(k.to_user_string() for k in run.asset_selection or ())
    return f"{run.status.value} {run.job_name} {days} {assets}"


@pytest.mark.slow
@pytest.mark.timeout(DEADLINE_SECONDS + 120)
def test_seeded_deployment_builds_every_layer_with_nobody_clicking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    home, data = tmp_path / "home", tmp_path / "data"
    home.mkdir()
    (home / "dagster.yaml").write_text(_instance_yaml(home))
    env = {**os.environ, "DAGSTER_HOME": str(home), "MLPLATFORM_DATA_DIR": str(data)}
    env.pop("MLPLATFORM_PARTITIONS_START", None)  # the deployment starts where the seed starts
    env["MLPLATFORM_AUTOMATION_INTERVAL_SECONDS"] = "10"
    seed = [str(BIN / "mlplatform"), "seed", "--days", str(SEED_DAYS), "--resources"]
    subprocess.run([*seed, str(RESOURCES)], env=env, check=True, capture_output=True)
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    days = [(yesterday - timedelta(days=n)).isoformat() for n in range(SEED_DAYS - 1, -1, -1)]
    assert sorted(p.name for p in (data / "landing" / "metrics").iterdir()) == days

    log = (tmp_path / "dagster-dev.log").open("w")
    process = subprocess.Popen(
        [
            str(BIN / "dagster"),
            "dev",
            "-w",
            "workspace.yaml",
            "-h",
            "127.0.0.1",
            "-p",
            str(_free_port()),
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # stopped as a group: webserver, daemon, code server
    )
    started = time.monotonic()
    try:
        # caught up: every layer's files are there and no run is still recording its events
        missing = not_built(data, days) or _in_flight(home, monkeypatch)
        while missing and time.monotonic() - started < DEADLINE_SECONDS:
            assert process.poll() is None, f"dagster dev exited with {process.returncode}"
            time.sleep(5)
            missing = not_built(data, days) or _in_flight(home, monkeypatch)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()
    elapsed = time.monotonic() - started
    print(f"every layer built {elapsed:.0f} s after dagster dev started")
    runs = _runs(home, monkeypatch)
    assert not missing, (
        f"after {elapsed:.0f} s, still missing: {missing[:20]} ({len(missing)} in all); "
        f"runs: {[_describe(r) for r in runs]}"
    )
    # the catch-up batches days: a handful of runs, not one per day and layer (9 x 6 = 54)
    assert len(runs) <= 12, [_describe(r) for r in runs]
    assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs), [_describe(r) for r in runs]
    # partitions begin where the seed begins: no empty days were ingested before it
    raw = sorted(p.stem for p in (data / "lake" / "raw" / "cloudwatch_metrics").iterdir())
    assert raw == days
    # the last day's drift report holds what both champions made of its inputs
    drift = pl.read_parquet(data / "lake" / "monitoring" / "feature_drift" / f"{days[-1]}.parquet")
    kinds = dict(drift.select("column", "kind").iter_rows())
    assert kinds.get("forecast_h1") == kinds.get("anomaly_alerts") == "prediction", kinds
    # each forecaster's champion serves; where none has beaten naive yet, the naive forecast
    registry = Registry(f"sqlite:///{data / 'mlflow.db'}", str(data / "models"))
    # trained once: a forecaster refused for not beating naive waits for another day's data
    assert [v.version for v in registry.versions()] == [1, 1, 1], registry.versions()
    for name, table in (
        ("demand_forecaster", "demand_forecasts"),
        ("cost_forecaster", "cost_forecasts"),
    ):
        served = pl.read_parquet(data / "lake" / "serving" / table / f"{days[-1]}.parquet")
        champion = registry.by_alias(name, CHAMPION)
        by = f"{name}/{champion.version}" if champion else f"naive/{naive_fallback(registry, name)}"
        assert served["model_version"].unique().to_list() == [by], name
    # every column a person can query in the warehouse says what it means
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        views = con.execute("SELECT count(*) FROM duckdb_views() WHERE NOT internal").fetchone()
        undescribed = con.execute(
            "SELECT schema_name || '.' || table_name || '.' || column_name FROM duckdb_columns() "
            "WHERE NOT internal AND comment IS NULL"
        ).fetchall()
    assert views == (14,) and not undescribed, undescribed
