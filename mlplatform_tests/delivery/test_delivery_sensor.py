"""The delivery sensor on a real instance: alerts, failing checks and failed runs reach the
local receivers once; re-runs and a restarted daemon repeat nothing."""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import yaml

from mlplatform.automation.delivery import LEDGER, build_alert_delivery_sensor
from mlplatform.defs.keys import ANOMALY_ALERTS, FEATURE_DRIFT
from mlplatform.lib.operations_config import OperationsConfig
from mlplatform.resources.build import local_resources
from mlplatform_tests.delivery.conftest import HttpReceiver, SmtpReceiver

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# recent days: alerts older than max_alert_age_hours (48) are not news
TODAY = datetime.now(UTC).date()
DAY, NEXT_DAY = (TODAY - timedelta(days=1)).isoformat(), TODAY.isoformat()


def _config(http: HttpReceiver, smtp: SmtpReceiver) -> dict:
    return {
        "alerts": {
            "ui_url": "http://127.0.0.1:3000",
            "channels": [
                {"kind": "slack", "webhook_url_env": "TEST_SLACK_URL"},
                {
                    "kind": "email",
                    "host": smtp.host,
                    "port": smtp.port,
                    "starttls": False,
                    "sender": "mlplatform@example.com",
                    "recipients": ["oncall@example.com"],
                },
                {"kind": "webhook", "url_env": "TEST_EVENTS_URL", "routing_key_env": "TEST_KEY"},
            ],
        }
    }


@pytest.fixture
def channel_env(http_receiver: HttpReceiver, monkeypatch) -> dict[str, str]:
    env = {
        "TEST_SLACK_URL": f"{http_receiver.url}/slack",
        "TEST_EVENTS_URL": f"{http_receiver.url}/events",
        "TEST_KEY": "R0UT1NG",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def _land_alerts(data: Path, day: str, hours: list[int]) -> None:
    folder = data / "lake" / "serving" / "anomaly_alerts"
    folder.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        {
            "resource_id": [f"i-{h:02d}" for h in hours],
            "metric": "memory_utilization",
            "ts": [datetime.fromisoformat(f"{day}T{h:02d}:00:00+00:00") for h in hours],
            "value": 99.0,
            "anomaly_score": 0.999,
            "signal": "residual",
            "model_version": "anomaly_detector/1",
        }
    ).write_parquet(folder / f"{day}.parquet")


def _materialized(instance: dg.DagsterInstance, data: Path, day: str, hours: list[int]) -> None:
    """serving/anomaly_alerts of `day` as a run leaves it: its file, then its event."""
    _land_alerts(data, day, hours)
    instance.report_runless_asset_event(dg.AssetMaterialization(ANOMALY_ALERTS, partition=day))


def _slack_lines(http: HttpReceiver) -> list[str]:
    return [
        line
        for body in http.received()
        if body["path"] == "/slack"
        for line in body["text"].splitlines()
        if line.startswith("- ")
    ]


def test_the_sensor_sends_each_alert_once_across_reruns(
    tmp_path: Path, http_receiver: HttpReceiver, smtp_receiver: SmtpReceiver, channel_env
):
    data = tmp_path / "data"
    config = OperationsConfig.model_validate(_config(http_receiver, smtp_receiver)).alerts
    sensor = build_alert_delivery_sensor(config, 30)
    resources = local_resources(data)
    with dg.DagsterInstance.ephemeral() as instance:

        def tick(cursor: str | None) -> str | None:
            with dg.build_sensor_context(
                instance=instance,
                cursor=cursor,
                resources={k: resources[k] for k in ("lake_reader", "reports")},
            ) as context:
                sensor(context)
                return context.cursor

        _materialized(instance, data, DAY, [3, 4])
        cursor = tick(None)
        assert len(_slack_lines(http_receiver)) == 2
        assert len(smtp_receiver.messages) == 1
        [event] = [b for b in http_receiver.received() if b["path"] == "/events"]
        assert (
            event["routing_key"] == "R0UT1NG"
            and len(event["payload"]["custom_details"]["notices"]) == 2
        )

        _materialized(instance, data, DAY, [3, 4])  # a re-run of the same day
        instance.report_runless_asset_event(
            dg.AssetCheckEvaluation(
                asset_key=FEATURE_DRIFT,
                check_name="feature_drift_check",
                passed=False,
                severity=dg.AssetCheckSeverity.ERROR,
                description="62% of the compared columns drifted",
            )
        )
        cursor = tick(cursor)
        lines = _slack_lines(http_receiver)
        assert len(lines) == 3, lines  # only the check is new
        assert "monitoring/feature_drift check feature_drift_check failed" in lines[-1]

        failed = dg.materialize([_failing], instance=instance, raise_on_error=False)
        assert not failed.success
        tick(cursor)
        assert f"/runs/{failed.run_id}" in http_receiver.received()[-1]["links"][0]["href"]


@dg.asset
def _failing() -> None:
    raise ValueError("the source was unreachable")


def _wait(condition: Callable[[], bool], what: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 240
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the daemon exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within 240 s:\n{log.read_text()[-3000:]}")
        time.sleep(1)


def _daemon(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=REPO,
        env=env,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def _sent_keys(data: Path) -> dict[str, set[str]]:
    path = data / "reports" / "_state" / f"{LEDGER}.json"
    if not path.exists():
        return {}
    return {channel: set(keys) for channel, keys in json.loads(path.read_text())["sent"].items()}


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_alerts_are_delivered_once_by_the_daemon_across_a_restart(
    tmp_path: Path,
    http_receiver: HttpReceiver,
    smtp_receiver: SmtpReceiver,
    channel_env,
    monkeypatch,
):
    home, data = tmp_path / "home", tmp_path / "data"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        (REPO / "dagster.yaml").read_text().replace(".dagster", str(home / ".dagster"))
    )
    ops = tmp_path / "operations.yaml"
    config = _config(http_receiver, smtp_receiver)
    # anomaly alerts only: the other kinds are tested above, and the daemon's own runs (it
    # ingests the window's quiet days) fail when it is stopped mid-run, which is news too
    config["alerts"] |= {"checks": "off", "run_failures": False}
    ops.write_text(yaml.safe_dump(config))
    env = {
        **os.environ,
        **channel_env,
        "DAGSTER_HOME": str(home),
        "MLPLATFORM_DATA_DIR": str(data),
        "MLPLATFORM_OPERATIONS_CONFIG": str(ops),
        "MLPLATFORM_AUTOMATION_INTERVAL_SECONDS": "5",
        "MLPLATFORM_CATCHUP_DAYS": "2",  # little else for the daemon to do meanwhile
    }
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    log = tmp_path / "daemon.log"
    first_keys = {f"anomaly:i-{h:02d}:memory_utilization:{DAY}T{h:02d}:00:00+00:00" for h in (3, 4)}
    channels = {"slack", "email", "webhook"}
    with dg.DagsterInstance.get() as instance:
        _materialized(instance, data, DAY, [3, 4])
    daemon = _daemon(env, log)
    try:
        _wait(
            lambda: all(first_keys <= _sent_keys(data).get(c, set()) for c in channels),
            "first delivery on every channel",
            daemon,
            log,
        )
    finally:
        _stop(daemon)
    assert len(_slack_lines(http_receiver)) == 2 and len(smtp_receiver.messages) == 1

    # while the daemon is down: a re-run of the same day, and a new day with one alert
    with dg.DagsterInstance.get() as instance:
        _materialized(instance, data, DAY, [3, 4])
        _materialized(instance, data, NEXT_DAY, [9])
    new_key = f"anomaly:i-09:memory_utilization:{NEXT_DAY}T09:00:00+00:00"
    daemon = _daemon(env, log)
    try:
        _wait(
            lambda: all(new_key in _sent_keys(data).get(c, set()) for c in channels),
            "second delivery on every channel",
            daemon,
            log,
        )
    finally:
        _stop(daemon)
    lines = _slack_lines(http_receiver)
    assert len(lines) == 3 and "i-09 memory_utilization" in lines[-1], lines
    assert len(smtp_receiver.messages) == 2
    assert "i-09" in smtp_receiver.messages[-1].get_payload()
    assert "i-03" not in smtp_receiver.messages[-1].get_payload()
    events = [b for b in http_receiver.received() if b["path"] == "/events"]
    assert [len(e["payload"]["custom_details"]["notices"]) for e in events] == [2, 1]
