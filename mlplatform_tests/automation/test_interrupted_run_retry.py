"""A run cut short by a stopped daemon is run again by the next daemon, on the repository's
instance config (dagster.yaml), with the real daemon. The run waits on a file, so it is
certainly in flight when the daemon stops: no race with how long a run takes."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from mlplatform.demo import start_daemon, stop_daemon
from mlplatform_tests.instance_checks import repo_instance_home
from mlplatform_tests.waiting import wait_for

BIN = Path(sys.executable).parent
DEFINITIONS = """
import os
import time
from pathlib import Path

import dagster as dg


@dg.asset
def waits_for_flag() -> None:
    Path(os.environ["STARTED_FILE"]).touch()
    while not Path(os.environ["FLAG_FILE"]).exists():
        time.sleep(0.2)


# steps in the run's own process, as the platform's local deployment runs them
defs = dg.Definitions(
    assets=[waits_for_flag],
    jobs=[dg.define_asset_job("wait_job", selection=[waits_for_flag])],
    executor=dg.in_process_executor,
)
"""
WORKSPACE = """
load_from:
  - python_file:
      relative_path: definitions.py
      location_name: waits
"""


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_run_cut_short_by_a_stopped_daemon_is_retried_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    home = repo_instance_home(tmp_path / "home")
    (tmp_path / "definitions.py").write_text(DEFINITIONS)
    (tmp_path / "workspace.yaml").write_text(WORKSPACE)
    started, flag = tmp_path / "started", tmp_path / "flag"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "STARTED_FILE": str(started),
        "FLAG_FILE": str(flag),
    }
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    workspace = tmp_path / "workspace.yaml"
    with (tmp_path / "daemon.log").open("a") as log, dg.DagsterInstance.get() as instance:

        def runs() -> list[dg.DagsterRun]:
            return list(instance.get_runs(ascending=True))

        daemon = start_daemon(workspace, env, log, cwd=tmp_path)
        try:
            launch = [str(BIN / "dagster"), "job", "launch", "-w", str(workspace), "-j", "wait_job"]
            subprocess.run(launch, cwd=tmp_path, env=env, check=True, capture_output=True)
            wait_for(started.exists, 240, "the run's step")
        finally:
            stop_daemon(daemon)
        wait_for(lambda: runs()[0].status == dg.DagsterRunStatus.FAILURE, 60, "the failure")
        cut = runs()[0]
        assert cut.tags["dagster/failure_reason"] == "UNEXPECTED_TERMINATION", cut.tags
        assert cut.tags["dagster/will_retry"] == "true", cut.tags

        flag.touch()
        daemon = start_daemon(workspace, env, log, cwd=tmp_path)
        try:
            wait_for(
                lambda: [r.status for r in runs()[1:]] == [dg.DagsterRunStatus.SUCCESS],
                240,
                "the retry",
            )
        finally:
            stop_daemon(daemon)
        retry = runs()[1]
        assert retry.tags["dagster/parent_run_id"] == cut.run_id
        assert retry.tags["dagster/retry_number"] == "1"
