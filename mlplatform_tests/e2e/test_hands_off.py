"""The platform runs itself: `mlplatform demo` seeds a temporary deployment and runs the real
Dagster daemon, as `make run`'s `dagster dev` does, nobody clicking, until every layer is built
for the seeded days, a stop in the middle of a run included; then `dagster dev` serves the UI
over what was built."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from mlplatform.demo import describe_run, heartbeat_age, stop_daemon
from mlplatform.lib.models.promotion import naive_fallback
from mlplatform.lib.models.registry import CHAMPION, Registry
from mlplatform.lib.monitoring.coverage import DAILY_TABLES
from mlplatform_tests.waiting import wait_for

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


def _heartbeat_age(home: Path, monkeypatch: pytest.MonkeyPatch) -> float | None:
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        return heartbeat_age(instance)


def _runs(home: Path, monkeypatch: pytest.MonkeyPatch) -> list[dg.DagsterRun]:
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        return list(instance.get_runs())


def _ui_answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.timeout(DEADLINE_SECONDS + 300)
def test_seeded_deployment_builds_every_layer_with_nobody_clicking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    home, data = tmp_path / "home", tmp_path / "data"
    home.mkdir()
    (home / "dagster.yaml").write_text(_instance_yaml(home))
    env = {**os.environ, "DAGSTER_HOME": str(home), "MLPLATFORM_DATA_DIR": str(data)}
    env.pop("MLPLATFORM_PARTITIONS_START", None)  # the deployment starts where the seed starts
    env["MLPLATFORM_AUTOMATION_INTERVAL_SECONDS"] = "10"
    demo = [str(BIN / "mlplatform"), "demo", "--days", str(SEED_DAYS), "--resources"]
    started = time.monotonic()
    # Ctrl-C as soon as the first run starts: the demo stops its daemon, and that run with it
    # unless it ends first (a run cut short is retried: test_interrupted_run_retry)
    first = subprocess.Popen(
        [*demo, str(RESOURCES)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    said = []
    for line in first.stdout:
        said.append(line)
        runs = line.partition(" · runs: ")[2]
        if "starting" in runs or "running" in runs:
            first.send_signal(signal.SIGINT)
            break
    said.append(first.communicate(timeout=240)[0])
    assert first.returncode == 130, "".join(said)
    assert "interrupted: what was built stays" in said[-1], said[-1]
    progress = [line for line in said if " · runs: " in line]
    assert f"raw 0/{2 * SEED_DAYS}" in progress[0] and "models 0/3" in progress[0], progress[0]
    # run again, it carries on: the daemon retries the run it cut short, automation the rest
    built = subprocess.run(
        [*demo, str(RESOURCES), "--timeout", str(DEADLINE_SECONDS)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=DEADLINE_SECONDS + 180,
    )
    elapsed = time.monotonic() - started
    print(built.stdout)
    runs = _runs(home, monkeypatch)
    described = [f"{describe_run(r)} {r.run_id}" for r in runs]
    assert built.returncode == 0, (
        f"after {elapsed:.0f} s: {built.stdout[-3000:]}\n{built.stderr[-3000:]}\nruns: {described}"
    )
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    days = [(yesterday - timedelta(days=n)).isoformat() for n in range(SEED_DAYS - 1, -1, -1)]
    assert sorted(p.name for p in (data / "landing" / "metrics").iterdir()) == days
    lines = built.stdout.splitlines()
    header = f"building every layer for {days[0]} .. {days[-1]} ({SEED_DAYS} days), nobody clicking"
    assert header in lines
    # progress as it went, up to every layer and model
    progress = [line for line in lines if " · runs: " in line]
    final = f"serving {4 * SEED_DAYS}/{4 * SEED_DAYS} · monitoring {2 * SEED_DAYS}/"
    assert final in progress[-1] and "models 3/3" in progress[-1], progress[-1]
    # the summary lists every daily table with each seeded day
    for table in DAILY_TABLES:
        row = next(line.split() for line in lines if line.startswith(f"  {table} "))
        assert row[1] == str(SEED_DAYS), row
    # the demo's daemon is gone, and so are its heartbeats: nothing waits them out
    assert _heartbeat_age(home, monkeypatch) is None
    # a run cut short (running, or being launched) was retried; every other run succeeded
    cut = [r for r in runs if r.status == dg.DagsterRunStatus.FAILURE]
    for run in cut:
        assert run.tags["dagster/will_retry"] == "true", run.tags
        retry = next(r for r in runs if r.run_id == run.tags["dagster/auto_retry_run_id"])
        assert retry.status == dg.DagsterRunStatus.SUCCESS, described
    # the catch-up batches days: a handful of runs, not one per day and layer (9 x 6 = 54)
    assert len(runs) <= 12 + len(cut), described
    assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs if r not in cut), described
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

    # `make run` on what was built: the UI answers, and a demo will not start a second daemon
    # beside the one `dagster dev` runs
    port = _free_port()
    log = (tmp_path / "dagster-dev.log").open("w")
    process = subprocess.Popen(
        [str(BIN / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # stopped as a group: webserver, daemon, code server
    )
    try:
        wait_for(lambda: _heartbeat_age(home, monkeypatch) is not None, 240, "dagster dev's daemon")
        refused = subprocess.run(
            [*demo, str(RESOURCES)], cwd=REPO, env=env, capture_output=True, text=True
        )
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "a Dagster daemon is already running on this instance" in refused.stderr
        wait_for(lambda: _ui_answers(port), 240, "the UI")
    finally:
        stop_daemon(process)  # the whole group: webserver, daemon, code server
        log.close()
