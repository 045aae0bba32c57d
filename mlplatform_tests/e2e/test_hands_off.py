"""The platform runs itself: `mlplatform demo` seeds a temporary deployment and runs the real
Dagster daemon, as `make run`'s `dagster dev` does, nobody clicking, until every layer is built
for the seeded days, a stop in the middle of a run included; then `dagster dev` serves the UI
over what was built. An operator config sends alerts to a Slack and a webhook channel on a
local receiver, with the default checks: every incident reaches each channel once, the
delivery sensor never fails a tick, and no secret reaches a log."""

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
from mlplatform.lib.delivery.notices import incident_notices
from mlplatform.lib.models.promotion import naive_fallback
from mlplatform.lib.models.registry import CHAMPION, Registry
from mlplatform.lib.monitoring.coverage import DAILY_TABLES
from mlplatform_tests.delivery.scenario import delivery_ticks, sent_keys
from mlplatform_tests.instance_checks import repo_instance_home
from mlplatform_tests.receivers import HttpReceiver
from mlplatform_tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# drift compares week-over-week ratios: the ninth day is the first with a reference
SEED_DAYS, RESOURCES = 9, 10
DEADLINE_SECONDS = 15 * 60
SECRET = "T0KEN-IN-THE-SLACK-PATH"
UI = "http://127.0.0.1:3000"
CHANNELS = ("slack", "webhook")
SURGE_HOURS = range(10, 13)  # the last day's incident, landed by the test


def _land_a_surge(data: Path, day: str) -> str:
    """One resource's traffic, CPU and network jump for three hours on `day`, as the landing
    file has it: an incident the platform must find and deliver. Returns the resource."""
    path = data / "landing" / "metrics" / day / "simulated.parquet"
    metrics = pl.read_parquet(path)
    resource = metrics["resource_id"].min()
    inside = (pl.col("resource_id") == resource) & pl.col("timestamp").dt.hour().is_in(
        list(SURGE_HOURS)
    )
    surged = (
        pl.when(inside & (pl.col("metric_name") == "cpu_utilization"))
        .then(99.0)
        .when(inside & pl.col("metric_name").is_in(["request_count", "network_out", "network_in"]))
        .then(pl.col("value") * 8)
        .otherwise(pl.col("value"))
    )
    metrics.with_columns(value=surged).write_parquet(path)
    return resource


def _operations(tmp_path: Path, receiver: HttpReceiver) -> tuple[Path, dict[str, str]]:
    """Alerts to Slack and a webhook on the local receiver; defaults for everything else."""
    config = tmp_path / "operations.yaml"
    config.write_text(
        "alerts:\n"
        f"  ui_url: {UI}\n"
        "  channels:\n"
        "    - kind: slack\n"
        "      webhook_url_env: E2E_SLACK_URL\n"
        "    - kind: webhook\n"
        "      url_env: E2E_EVENTS_URL\n"
    )
    return config, {
        "E2E_SLACK_URL": f"{receiver.url}/services/T0/B0/{SECRET}",
        "E2E_EVENTS_URL": f"{receiver.url}/events",
    }


def _sendable(data: Path, days: list[str]) -> dict[str, str]:
    """notice key -> summary of every incident delivery's defaults send (48 hours of news)."""
    since = datetime.now(UTC) - timedelta(hours=48)
    folder = data / "lake" / "serving" / "anomaly_incidents"
    return {
        n.key: n.summary
        for day in days
        for n in incident_notices(
            pl.read_parquet(folder / f"{day}.parquet"), day, UI, 0.0, "error", since
        )
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, http_receiver: HttpReceiver
):
    home, data = repo_instance_home(tmp_path / "home"), tmp_path / "data"
    operations, secrets = _operations(tmp_path, http_receiver)
    env = {**os.environ, "DAGSTER_HOME": str(home), "MLPLATFORM_DATA_DIR": str(data), **secrets}
    env.pop("MLPLATFORM_PARTITIONS_START", None)  # the deployment starts where the seed starts
    env["MLPLATFORM_AUTOMATION_INTERVAL_SECONDS"] = "10"
    env["MLPLATFORM_OPERATIONS_CONFIG"] = str(operations)
    seed = [str(BIN / "mlplatform"), "seed", "--days", str(SEED_DAYS), "--resources"]
    subprocess.run([*seed, str(RESOURCES)], cwd=REPO, env=env, check=True, capture_output=True)
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    surged = _land_a_surge(data, yesterday.isoformat())
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
    assert "already has data; not seeding" in "".join(said)  # the test's own landing files
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
    days = [(yesterday - timedelta(days=n)).isoformat() for n in range(SEED_DAYS - 1, -1, -1)]
    assert sorted(p.name for p in (data / "landing" / "metrics").iterdir()) == days
    lines = built.stdout.splitlines()
    header = f"building every layer for {days[0]} .. {days[-1]} ({SEED_DAYS} days), nobody clicking"
    assert header in lines
    # progress as it went, up to every layer and model
    progress = [line for line in lines if " · runs: " in line]
    final = f"serving {5 * SEED_DAYS}/{5 * SEED_DAYS} · monitoring {2 * SEED_DAYS}/"
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
    assert views == (15,) and not undescribed, undescribed
    # the landed surge is an incident on its resource, at its hours
    incidents = pl.read_parquet(
        data / "lake" / "serving" / "anomaly_incidents" / f"{days[-1]}.parquet"
    )
    surge = incidents.filter(pl.col("resources").list.contains(surged))
    assert surge.height and surge["start"].dt.hour().min() in SURGE_HOURS, incidents

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
        sendable = _sendable(data, days)
        assert any(surged in summary for summary in sendable.values()), sendable
        wait_for(
            lambda: all(
                set(sendable) <= sent_keys(data).get(c, set()) for c in ("slack", "webhook")
            ),
            240,
            "every incident on both channels",
        )
    finally:
        stop_daemon(process)  # the whole group: webserver, daemon, code server
        log.close()
    _assert_delivered_once(http_receiver, sendable)
    _assert_no_failed_tick_and_no_secret(home, monkeypatch, [tmp_path / "dagster-dev.log"])


def _assert_delivered_once(receiver: HttpReceiver, sendable: dict[str, str]) -> None:
    slack = [
        line[2:]
        for body in receiver.received()
        if body["path"].startswith("/services/")
        for line in body["text"].splitlines()
        if line.startswith("- ")
    ]
    events = [
        line
        for body in receiver.received()
        if body["path"] == "/events"
        for line in body["payload"]["custom_details"]["notices"]
    ]
    for summary in sendable.values():
        escaped = summary.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert slack.count(escaped) == 1 and events.count(summary) == 1, (summary, slack)


def _assert_no_failed_tick_and_no_secret(
    home: Path, monkeypatch: pytest.MonkeyPatch, logs: list[Path]
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        ticks = delivery_ticks(instance)
    assert ticks and not [t.error for t in ticks if t.status.value == "FAILURE"]
    texts = [p.read_text(errors="replace") for p in logs]
    texts += [
        p.read_text(errors="replace")
        for p in (home / ".dagster").rglob("*")
        if p.is_file() and p.suffix in {".log", ".err", ".out"}
    ]
    texts += [t.skip_reason or "" for t in ticks]
    assert not [t for t in texts if SECRET in t]
