"""A catch-up, timed: D days x R resources landed on a temporary embedded deployment, the real
Dagster daemon building every layer from the landing files to the drift reports with nobody
clicking, next to the compute floor (`benchmarks.pipeline_floor`: the same library functions in
a plain loop over the days, in a process of its own, on a copy of the same landing files).

    .venv/bin/python -m benchmarks.pipeline_benchmark [--days 60] [--resources 500] [--repeats 2]

Each repeat lands fresh data into a fresh deployment and runs both sides one after the other;
the figures printed are per repeat and their medians. The platform side is timed from the
daemon's start to the last layer's last file; the floor side is the whole floor process,
imports included. Run it on an idle machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from mlplatform.demo import start_daemon, stop_daemon
from mlplatform.lib.ingest.simulator import SimulationConfig, simulate, write_landing_day
from mlplatform.lib.monitoring.coverage import not_built

REPO = Path(__file__).resolve().parents[1]


def land(data: Path, days: int, resources: int) -> list[str]:
    """Simulated landing files for the `days` days up to yesterday."""
    first = datetime.now(UTC).date() - timedelta(days=days)
    config = SimulationConfig(resources=resources, seed=11)
    for day in simulate(config, first, days):
        write_landing_day(day, data / "landing", config)
    return [(first + timedelta(days=i)).isoformat() for i in range(days)]


def deployment_env(root: Path, interval: int) -> dict[str, str]:
    """A temporary embedded deployment under `root` (instance in root/home, data in
    root/data), its partitions starting where its landing files do."""
    home = root / "home"
    home.mkdir()
    yaml = (REPO / "dagster.yaml").read_text().replace(".dagster", str(home / ".dagster"))
    (home / "dagster.yaml").write_text(yaml)
    env = {**os.environ, "DAGSTER_HOME": str(home), "MLPLATFORM_DATA_DIR": str(root / "data")}
    env.pop("MLPLATFORM_PARTITIONS_START", None)
    env["MLPLATFORM_AUTOMATION_INTERVAL_SECONDS"] = str(interval)
    return env


def run_platform(root: Path, days: list[str], interval: int, deadline: float) -> dict:
    home, data = root / "home", root / "data"
    env = deployment_env(root, interval)
    log = (root / "daemon.log").open("w")
    started = time.perf_counter()
    daemon = start_daemon(REPO / "workspace.yaml", env, log, cwd=REPO)
    try:
        left = not_built(data, days)
        while left and time.perf_counter() - started < deadline:
            if daemon.poll() is not None:
                raise RuntimeError(f"the daemon exited with {daemon.returncode}; see {log.name}")
            time.sleep(2)
            left = not_built(data, days)
        seconds = time.perf_counter() - started
    finally:
        stop_daemon(daemon)
        log.close()
    if left:
        raise RuntimeError(f"not caught up after {seconds:.0f} s: {left[:10]} ({len(left)} in all)")
    os.environ["DAGSTER_HOME"] = str(home)
    with dg.DagsterInstance.get() as instance:
        records = instance.get_run_records()
    return {
        "seconds": seconds,
        "runs": len(records),
        "failed": sum(r.dagster_run.status == dg.DagsterRunStatus.FAILURE for r in records),
        "timeline": timeline(records),
    }


def timeline(records: list) -> list[str]:
    """Per group of runs (by the layers they build): how many, when the first was queued and
    the last ended (seconds from the first run), queue wait and run time summed."""
    groups: dict[str, list] = {}
    for r in records:
        layers = sorted({k.path[0] for k in r.dagster_run.asset_selection or ()})
        groups.setdefault("+".join(layers) or r.dagster_run.job_name, []).append(r)
    t0 = min(r.create_timestamp.timestamp() for r in records)
    lines = [
        f"  FAILED {r.dagster_run.job_name} {r.dagster_run.run_id} "
        f"{r.dagster_run.tags.get('mlplatform/trigger', '')} "
        f"{sorted(k.to_user_string() for k in r.dagster_run.asset_selection or ())}"
        for r in records
        if r.dagster_run.status == dg.DagsterRunStatus.FAILURE
    ]
    for name, runs in sorted(groups.items(), key=lambda g: min(r.create_timestamp for r in g[1])):
        first = min(r.create_timestamp.timestamp() for r in runs) - t0
        last = max((r.end_time or 0) for r in runs) - t0
        waited = sum((r.start_time or 0) - r.create_timestamp.timestamp() for r in runs)
        ran = sum((r.end_time or 0) - (r.start_time or 0) for r in runs)
        lines.append(
            f"  {name}: {len(runs)} runs, queued from {first:.0f} s, last ended {last:.0f} s, "
            f"waits {waited:.0f} s, run time {ran:.0f} s"
        )
    return lines


def run_floor(root: Path, days: list[str]) -> float:
    data = root / "floor"
    shutil.copytree(root / "data" / "landing", data / "landing")
    started = time.perf_counter()
    # one process alone on the machine: a competent user gives its model fits every core
    threads = str(os.cpu_count() or 1)
    subprocess.run(
        [sys.executable, "-m", "benchmarks.pipeline_floor", str(data), days[0], str(len(days))],
        cwd=REPO,
        env={**os.environ, "MLPLATFORM_MODEL_THREADS": threads},
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--resources", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--interval", type=int, default=30, help="MLPLATFORM_AUTOMATION_INTERVAL_SECONDS"
    )
    parser.add_argument("--deadline", type=float, default=3 * 3600, help="seconds per repeat")
    parser.add_argument("--keep", action="store_true", help="keep each repeat's folder")
    args = parser.parse_args()
    print(
        f"{args.days} days x {args.resources} resources, {os.cpu_count()} cores, "
        f"automation interval {args.interval} s"
    )
    platform, floor = [], []
    for repeat in range(1, args.repeats + 1):
        root = Path(tempfile.mkdtemp(prefix="mlplatform-bench-"))
        try:
            days = land(root / "data", args.days, args.resources)
            result = run_platform(root, days, args.interval, args.deadline)
            floor_seconds = run_floor(root, days)
        finally:
            if args.keep:
                print(f"kept {root}")
            else:
                shutil.rmtree(root, ignore_errors=True)
        platform.append(result["seconds"])
        floor.append(floor_seconds)
        print(
            f"repeat {repeat}: platform {result['seconds']:.0f} s in {result['runs']} runs "
            f"({result['failed']} failed), floor {floor_seconds:.0f} s, "
            f"ratio {result['seconds'] / floor_seconds:.2f}"
        )
        print("\n".join(result["timeline"]))
    p, f = statistics.median(platform), statistics.median(floor)
    print(f"median: platform {p:.0f} s, floor {f:.0f} s, ratio {p / f:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
