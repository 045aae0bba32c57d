"""The delivery sensor on the instance users get (the repository's dagster.yaml: SQLite, its
event log sharded by run) and with the real daemon: alerts, failing checks and failed runs
reach the local receivers once, re-runs and a restarted daemon repeat nothing, no tick fails,
and a channel that is down leaks no secret."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pytest
import yaml

from mlplatform.demo import start_daemon, stop_daemon
from mlplatform_tests.delivery.scenario import (
    DAY,
    DRIFTED,
    NEXT_DAY,
    channel_variables,
    channels_config,
    deliver_tick_by_tick,
    delivery_ticks,
    each_channel,
    failed_run,
    failing_check_run,
    materialized,
    sensor_ticks,
    sent_keys,
    slack_lines,
)
from mlplatform_tests.instance_checks import repo_instance_home
from mlplatform_tests.receivers import HttpReceiver, SmtpReceiver

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SECRET = "T0KEN-0F-A-DEAD-CHANNEL"


@pytest.fixture
def channel_env(http_receiver: HttpReceiver, monkeypatch) -> dict[str, str]:
    env = channel_variables(http_receiver)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def test_the_sensor_delivers_once_on_the_repository_instance(
    tmp_path: Path, http_receiver: HttpReceiver, smtp_receiver: SmtpReceiver, channel_env
):
    home = repo_instance_home(tmp_path / "home")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        deliver_tick_by_tick(instance, tmp_path / "data", http_receiver, smtp_receiver)


def test_the_fleets_budget_holds_across_ticks(
    tmp_path: Path, http_receiver: HttpReceiver, smtp_receiver: SmtpReceiver, channel_env
):
    home, data = repo_instance_home(tmp_path / "home"), tmp_path / "data"
    with dg.DagsterInstance.from_config(str(home)) as instance:
        tick = sensor_ticks(instance, data, http_receiver, smtp_receiver, max_incidents_per_day=2)
        materialized(instance, data, DAY, [1, 5, 9])  # hours apart: three incidents
        cursor = tick(None)
        assert len(slack_lines(http_receiver)) == 2
        materialized(instance, data, DAY, [1, 5, 9, 13])  # the open day grows: one more
        materialized(instance, data, NEXT_DAY, [20])  # a new day has a budget of its own
        tick(cursor)
        lines = slack_lines(http_receiver)
        assert len(lines) == 3 and "i-20" in lines[-1], lines


def _wait(condition: Callable[[], bool], what: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 240
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the daemon exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within 240 s:\n{log.read_text()[-3000:]}")
        time.sleep(1)


def _dead_url() -> str:
    """A webhook URL whose path is its credential, as Slack's are, on a port nobody serves."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/services/T01/B02/{SECRET}"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_daemon_delivers_alerts_checks_and_failures_once_across_a_restart(
    tmp_path: Path,
    http_receiver: HttpReceiver,
    smtp_receiver: SmtpReceiver,
    channel_env,
    monkeypatch,
):
    """The operator's default settings (checks: error, run failures on) on the repository's
    dagster.yaml, with a fourth channel that is down and whose URL holds a secret."""
    home, data = repo_instance_home(tmp_path / "home"), tmp_path / "data"
    ops = tmp_path / "operations.yaml"
    config = channels_config(http_receiver, smtp_receiver)
    config["alerts"]["channels"].append({"kind": "webhook", "name": "pager", "url_env": "DEAD"})
    ops.write_text(yaml.safe_dump(config))
    env = {
        **os.environ,
        **channel_env,
        "DEAD": _dead_url(),
        "DAGSTER_HOME": str(home),
        "MLPLATFORM_DATA_DIR": str(data),
        "MLPLATFORM_OPERATIONS_CONFIG": str(ops),
        "MLPLATFORM_AUTOMATION_INTERVAL_SECONDS": "5",
        "MLPLATFORM_CATCHUP_DAYS": "2",  # little else for the daemon to do meanwhile
    }
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    log = tmp_path / "daemon.log"
    with dg.DagsterInstance.get() as instance:
        first_keys = set(materialized(instance, data, DAY, [3, 4]))
        check_run, final = failing_check_run(instance), failed_run(instance)
        retried = failed_run(instance, will_retry=True)
    first_keys |= {
        f"run:{final}",
        f"check:{check_run}:monitoring/feature_drift:feature_drift_check:",
    }
    with log.open("a") as out:
        daemon = start_daemon(REPO / "workspace.yaml", env, out, cwd=REPO)
        try:
            _wait(
                lambda: each_channel(lambda c: first_keys <= sent_keys(data).get(c, set())),
                "first delivery on every channel",
                daemon,
                log,
            )
        finally:
            stop_daemon(daemon)
    anomalies = [line for line in slack_lines(http_receiver) if "memory_utilization" in line]
    assert len(anomalies) == 2 and any(DRIFTED in line for line in slack_lines(http_receiver))
    assert not any(retried in key for keys in sent_keys(data).values() for key in keys)

    # while the daemon is down: a re-run of the same day, and a new day with one alert
    with dg.DagsterInstance.get() as instance:
        materialized(instance, data, DAY, [3, 4])
        [new_key] = materialized(instance, data, NEXT_DAY, [9])
    with log.open("a") as out:
        daemon = start_daemon(REPO / "workspace.yaml", env, out, cwd=REPO)
        try:
            _wait(
                lambda: each_channel(lambda c: new_key in sent_keys(data).get(c, set())),
                "second delivery on every channel",
                daemon,
                log,
            )
        finally:
            stop_daemon(daemon)
    anomalies = [line for line in slack_lines(http_receiver) if "memory_utilization" in line]
    assert len(anomalies) == 3 and "i-09/memory_utilization" in anomalies[-1], anomalies
    assert "pager" not in sent_keys(data) or not sent_keys(data)["pager"]

    with dg.DagsterInstance.get() as instance:
        ticks = delivery_ticks(instance)
    assert len(ticks) >= 2
    failed = [t.error for t in ticks if t.status.value == "FAILURE"]
    assert failed == [], failed
    said = [t.skip_reason or "" for t in ticks]
    # every tick that finished says the channel is down (one cut short by a stop says nothing)
    finished = [t.skip_reason or "" for t in ticks if t.status.value == "SKIPPED"]
    assert finished and all("pager: alert webhook at 127.0.0.1" in r for r in finished), said
    tick_logs = _tick_logs(home)
    everything = "\n".join([log.read_text(), *said, *tick_logs])
    assert SECRET not in everything and "/services/" not in everything
    # the outage is said once, by the tick that found it, not on every tick since
    down = "alert delivery failed, notices kept pending: pager: alert webhook at 127.0.0.1:"
    assert log.read_text().count(down) == 1
    assert sum(down in text for text in tick_logs) == 1


def _tick_logs(home: Path) -> list[str]:
    """What the sensors logged, one text per tick, as the UI shows it for each tick."""
    folder = home / ".dagster" / "compute_logs"
    return [p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file()]
