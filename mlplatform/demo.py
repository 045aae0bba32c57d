"""`mlplatform demo`: the whole graph built headless on the embedded default.

The real Dagster daemon runs the deployment's own sensors and automation on the instance in
`DAGSTER_HOME`, as `make run` does without the UI, until every layer is built for the landed
days; the command shows progress and then what was built and where to look. Nothing here
orders the layers: it only watches the lake and the instance.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path

import dagster as dg

from mlplatform.lib.ingest.landing_days import days_to_build, landing_days
from mlplatform.lib.monitoring.coverage import (
    MODELS,
    layer_progress,
    not_built,
    untrained_models,
)
from mlplatform.settings import (
    automation_interval_seconds,
    catchup_days,
    data_dir,
    deployment,
    partitions_start,
)

POLL_SECONDS = 2.0
SAY = partial(print, flush=True)  # progress shows at once through a pipe (`make demo | tee`)
# a daemon reports every 30 s; two and a half intervals leave room for a busy machine
RUNNING_WITHIN_SECONDS = 75.0
DAEMON_LOG = Path(".dagster") / "demo-daemon.log"  # under DAGSTER_HOME
# run statuses in words, in the order a run passes them
RUN_STATES = {
    dg.DagsterRunStatus.NOT_STARTED: "created",
    dg.DagsterRunStatus.QUEUED: "queued",
    dg.DagsterRunStatus.STARTING: "starting",
    dg.DagsterRunStatus.STARTED: "running",
    dg.DagsterRunStatus.SUCCESS: "succeeded",
    dg.DagsterRunStatus.FAILURE: "failed",
    dg.DagsterRunStatus.CANCELING: "canceled",
    dg.DagsterRunStatus.CANCELED: "canceled",
    dg.DagsterRunStatus.SUSPENDED: "suspended",
    dg.DagsterRunStatus.MANAGED: "managed elsewhere",
}
FINISHED = frozenset(
    {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
)


def start_daemon(
    workspace: Path, env: dict[str, str], log, cwd: Path | None = None
) -> subprocess.Popen:
    """The real daemon on `workspace`, in a process group of its own (its code server too)."""
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", str(workspace)],
        cwd=cwd,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_daemon(daemon: subprocess.Popen, grace_seconds: float = 60.0) -> None:
    """SIGTERM to the daemon's whole group (its code server and their runs, which record
    themselves as failed), then SIGKILL to whatever of the group outlives the grace: the daemon
    can exit while a run worker is still shutting down, and nothing of it may be left behind."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(daemon.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        daemon.poll()  # reaps the daemon itself, so that a dead daemon is not counted
        try:
            os.killpg(daemon.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(daemon.pid, signal.SIGKILL)
    daemon.wait()


def describe_run(run: dg.DagsterRun) -> str:
    """Status, job, days and assets of a run, on one line."""
    tags = run.tags
    first = tags.get("dagster/asset_partition_range_start")
    days = tags.get("dagster/partition") or (
        f"{first}..{tags['dagster/asset_partition_range_end']}" if first else ""
    )
    assets = sorted(k.to_user_string() for k in run.asset_selection or ())
    parts = (run.status.value, run.job_name, days, str(assets) if assets else "")
    return " ".join(p for p in parts if p)


def will_be_retried(run: dg.DagsterRun) -> bool:
    """A failed run the daemon runs again (`run_retries` in dagster.yaml): one cut short, not
    one whose asset failed."""
    return run.tags.get("dagster/will_retry") == "true"


def failure_reason(instance: dg.DagsterInstance, run_id: str) -> str:
    """The first failed step's error, else the run's own failure message."""
    for event_type in (dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.RUN_FAILURE):
        records = instance.get_records_for_run(run_id, of_type=event_type, limit=1).records
        if records:
            entry = records[0].event_log_entry
            failure = entry.dagster_event.step_failure_data if entry.dagster_event else None
            error = failure.error if failure is not None else None
            while error is not None and error.cause is not None:
                error = error.cause  # Dagster wraps the asset's own exception
            message = error.message if error is not None else entry.message
            return message.strip().splitlines()[0] if message.strip() else "no reason recorded"
    return "no reason recorded"


def preflight(workspace: Path) -> str | None:
    """Why the demo cannot run here, or None."""
    if deployment() != "local":
        return "the demo runs the embedded default: unset MLPLATFORM_DEPLOYMENT"
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        return (
            "DAGSTER_HOME is not set: point it at the folder of the instance's dagster.yaml "
            "(`make demo` sets it to the repository)"
        )
    if not (Path(home) / "dagster.yaml").is_file():
        return f"DAGSTER_HOME={home} holds no dagster.yaml"
    if not workspace.is_file():
        return f"{workspace} not found: run this in the repository (`make demo`), or --workspace"
    with dg.DagsterInstance.get() as instance:
        age = heartbeat_age(instance)
    if age is not None and age < RUNNING_WITHIN_SECONDS:
        return (
            f"a Dagster daemon is already running on this instance (`make run`?): its last "
            f"heartbeat was {age:.0f} s ago. It builds every layer by itself; watch it in the "
            "UI, or stop it and run the demo again (a daemon just stopped is taken for running "
            f"for {RUNNING_WITHIN_SECONDS:.0f} s)"
        )
    return None


def heartbeat_age(instance: dg.DagsterInstance) -> float | None:
    """Seconds since any daemon last reported to the instance; None if none ever did."""
    beats = instance.get_daemon_heartbeats().values()
    return time.time() - max(b.timestamp for b in beats) if beats else None


def days_to_watch(today: date) -> list[str]:
    """The closed days the deployment will build for what has landed."""
    landed = landing_days(data_dir() / "landing")
    window = days_to_build(landed, partitions_start(today), catchup_days(), today)
    return [d.isoformat() for d in window]


def progress_line(data: Path, days: Sequence[str], runs: Sequence[dg.DagsterRun]) -> str:
    """Partitions built per layer, models trained, and runs by status."""
    lake = data / "lake"
    layers = [f"{layer} {built}/{wanted}" for layer, built, wanted in layer_progress(lake, days)]
    trained = len(MODELS) - len(untrained_models(data))
    counts = dict.fromkeys(RUN_STATES.values(), 0)
    for run in runs:
        state = RUN_STATES.get(run.status, run.status.value.lower())
        counts[state] = counts.get(state, 0) + 1
    said = ", ".join(f"{n} {state}" for state, n in counts.items() if n) or "none yet"
    return " · ".join([*layers, f"models {trained}/{len(MODELS)}", f"runs: {said}"])


def verdict(
    missing: Sequence[str],
    running: bool,
    failed: int,
    idle_seconds: float,
    elapsed_seconds: float,
    timeout_seconds: float,
    settle_seconds: float,
) -> tuple[int, str] | None:
    """Whether to stop watching: (exit status, what to say), or None to go on. After a failed
    run, nothing running for `settle_seconds` means nothing will (no retry, no next layer)."""
    if not missing and not running:
        return (1, f"built, but {failed} run(s) failed on the way (above)") if failed else (0, "")
    if failed and not running and idle_seconds > settle_seconds:
        return 1, f"nothing has run for {idle_seconds:.0f} s since a run failed (above)"
    if elapsed_seconds > timeout_seconds:
        more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
        return 1, f"not built after {elapsed_seconds:.0f} s: {', '.join(missing[:8])}{more}"
    return None


def interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def watch(
    days: Sequence[str],
    workspace: Path,
    timeout_seconds: float,
    say: Callable[[str], None] = SAY,
) -> int:
    """Run the daemon until every layer of `days` is built and no run is in flight, then stop
    it. 0 when built with no failed run (a run cut short and retried is not one); 1 when a run
    failed (each is reported as it happens), the time is up or the daemon died. Progress goes
    to `say` as it changes. SIGTERM and SIGHUP (a closed terminal) interrupt it as Ctrl-C
    does, so the daemon is stopped too."""
    for stop in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop, interrupt)
    data = data_dir()
    log_path = Path(os.environ["DAGSTER_HOME"]) / DAEMON_LOG
    log_path.parent.mkdir(parents=True, exist_ok=True)
    since = datetime.now(UTC)
    started = idle_since = time.monotonic()
    reported: set[str] = set()
    failed: set[str] = set()  # failed runs that are not retried
    last = ""
    settle = max(120.0, 4.0 * automation_interval_seconds())  # several automation ticks
    with dg.DagsterInstance.get() as instance, log_path.open("a") as log:
        daemon = start_daemon(workspace, dict(os.environ), log)
        say(f"the Dagster daemon is running the deployment (log: {log_path})")
        try:
            while True:
                runs = instance.get_runs(dg.RunsFilter(created_after=since), ascending=True)
                now = time.monotonic()
                line = progress_line(data, days, runs)
                if line != last:
                    say(f"[{(now - started) // 60:3.0f}:{(now - started) % 60:02.0f}] {line}")
                    last = line
                for run in runs:
                    if run.status != dg.DagsterRunStatus.FAILURE or run.run_id in reported:
                        continue
                    reported.add(run.run_id)
                    if will_be_retried(run):
                        say(f"  run {run.run_id} was cut short; the daemon runs it again")
                        continue
                    failed.add(run.run_id)
                    say(f"  run {run.run_id} failed: {describe_run(run)}")
                    say(f"    {failure_reason(instance, run.run_id)}")
                in_flight = [r for r in runs if r.status not in FINISHED]
                if in_flight:
                    idle_since = now
                ended = verdict(
                    not_built(data, days),
                    bool(in_flight),
                    len(failed),
                    now - idle_since,
                    now - started,
                    timeout_seconds,
                    settle,
                )
                if ended is None and daemon.poll() is not None:
                    ended = (1, f"the daemon exited with {daemon.returncode}; see {log_path}")
                if ended is not None:
                    if ended[1]:
                        say(ended[1])
                    return ended[0]
                time.sleep(POLL_SECONDS)
        finally:
            stop_daemon(daemon)
            instance.wipe_daemon_heartbeats()  # ours: a new daemon need not wait them out
