"""Landing-to-serving latency on the embedded default: how long after an hour's file lands in
today's folder its anomaly alert and the forecasts from it are in serving.

    .venv/bin/python -m benchmarks.landing_latency [--days 9] [--resources 50] [--probes 3]

A temporary deployment gets D closed days and today's hours up to the first probe, and the
real daemon catches up, trains its models and measures drift (the ninth day is the first
with a same-weekday reference, hence 9 days; printed, not part of the latency). Then each
probe lands one complete hour as a new file, as the CloudWatch poller does, with a spike in
one resource's request_count (another resource each probe), and the script waits for:
- `serving/demand_forecasts` of today to hold that hour (forecasts 1-4 h ahead from it), and
- `serving/anomaly_alerts` of today to hold an alert on the spiked series at that hour.
The probes are the last complete hours of today (UTC), so with 3 probes run it after 04:00
UTC. Run it on an idle machine; each figure is one measurement, not a distribution.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from benchmarks.pipeline_benchmark import deployment_env, start_daemon
from mlplatform.lib.ingest.simulator import SimulationConfig, simulate, write_landing_day
from mlplatform.lib.monitoring.coverage import not_built

SPIKE_FACTOR = 25.0
DEADLINE_SECONDS = 20 * 60


def _lake(data: Path, name: str, day: str) -> pl.DataFrame | None:
    path = data / "lake" / "serving" / name / f"{day}.parquet"
    return pl.read_parquet(path) if path.exists() else None


def _wait(condition, deadline: float, daemon: subprocess.Popen, what: str) -> float:
    while not condition():
        if daemon.poll() is not None:
            raise RuntimeError(f"the daemon exited with {daemon.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"no {what} before the deadline")
        time.sleep(1)
    return time.monotonic()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=9)
    parser.add_argument("--resources", type=int, default=50)
    parser.add_argument("--probes", type=int, default=3)
    parser.add_argument("--interval", type=int, default=30, help="automation interval, s")
    args = parser.parse_args()
    now = datetime.now(UTC)
    last_complete = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    probe_hours = [last_complete - timedelta(hours=k) for k in range(args.probes - 1, -1, -1)]
    if probe_hours[0].date() != now.date():
        parser.error("the probes must be complete hours of today (UTC): run later in the day")
    today = now.date()
    config = SimulationConfig(resources=args.resources, seed=11, anomaly_rate=0.0)
    days = list(simulate(config, today - timedelta(days=args.days), args.days + 1))

    with tempfile.TemporaryDirectory(prefix="mlplatform-latency-") as tmp:
        root = Path(tmp)
        data = root / "data"
        for day in days[:-1]:
            write_landing_day(day, data / "landing", config)
        metrics = days[-1].metrics
        folder = data / "landing" / "metrics" / today.isoformat()
        folder.mkdir(parents=True)
        metrics.filter(pl.col("timestamp") < probe_hours[0]).write_parquet(
            folder / "before.parquet"
        )
        env = deployment_env(root, args.interval)
        log = (root / "daemon.log").open("w")
        started = time.monotonic()
        daemon = start_daemon(env, log)
        closed = [d.day.isoformat() for d in days[:-1]]
        deadline = started + DEADLINE_SECONDS
        day = today.isoformat()
        try:
            _wait(
                lambda: (
                    not not_built(data, closed) and _lake(data, "anomaly_alerts", day) is not None
                ),
                deadline,
                daemon,
                "catch-up",
            )
            print(
                f"{args.days} days x {args.resources} resources caught up, models trained and "
                f"today served in {time.monotonic() - started:.0f} s"
            )
            resources = metrics["resource_id"].unique().sort()
            for k, hour in enumerate(probe_hours):
                # a series of its own per probe: the detector folds a burst into one alert
                spiked = resources[k]
                rows = metrics.filter(pl.col("timestamp").dt.truncate("1h") == hour)
                rows = rows.with_columns(
                    value=pl.when(
                        (pl.col("resource_id") == spiked)
                        & (pl.col("metric_name") == "request_count")
                    )
                    .then(pl.col("value") * SPIKE_FACTOR)
                    .otherwise(pl.col("value"))
                )
                landed = time.monotonic()
                rows.write_parquet(folder / f"hour-{hour:%H}.parquet")

                def forecast_from_hour(hour=hour) -> bool:
                    frame = _lake(data, "demand_forecasts", day)
                    return frame is not None and frame.filter(pl.col("origin") == hour).height > 0

                def alert_at_hour(hour=hour, spiked=spiked) -> bool:
                    frame = _lake(data, "anomaly_alerts", day)
                    return (
                        frame is not None
                        and frame.filter(
                            (pl.col("ts") == hour)
                            & (pl.col("resource_id") == spiked)
                            & (pl.col("metric") == "request_count")
                        ).height
                        > 0
                    )

                forecast_at = _wait(forecast_from_hour, deadline, daemon, f"forecast from {hour}")
                alert_at = _wait(alert_at_hour, deadline, daemon, f"alert at {hour}")
                print(
                    f"hour {hour:%H}:00 landed -> forecasts from it {forecast_at - landed:.0f} s, "
                    f"its anomaly alert {alert_at - landed:.0f} s"
                )
        finally:
            os.killpg(daemon.pid, signal.SIGTERM)
            daemon.wait(timeout=120)
            log.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
