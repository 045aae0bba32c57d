"""Benchmark: `mlplatform features` against a pandas implementation of FEATURES.md.

    .venv/bin/python -m benchmarks.feature_benchmark [--resources 2000] [--days 90] [--repeats 3]

Input: the simulator's clean hourly table with what real fleets have: hours that never
reported, outages of a few hours to a day and a half, resources idle at exactly 0 for days.
Each side runs `--repeats` times, each run in its own process (Parquet in, Parquet out with
the same compression, zstd at level 1, imports included) so that peak memory is its own; the
median time is the figure. The outputs must hold the same columns, the same nulls and the
same values within FEATURES.md's tolerance, or the benchmark fails.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.simulated_hourly import simulated_hourly
from mlplatform.lib.ingest.simulator import SimulationConfig

TOLERANCE = {"default": 1e-6, "trend": 1e-4}
# what `mlplatform features` writes; given explicitly to pandas too (pyarrow's default level
# is 1 as well, polars' is 3)
COMPRESSION = {"compression": "zstd", "compression_level": 1}


def _run(argv: list[str]) -> tuple[float, float]:
    """Wall time and peak RSS (GiB) of a child process."""
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # child: exec so ru_maxrss is this command's own
        os.execv(argv[0], argv)
    _, status, usage = os.wait4(pid, 0)
    if status:
        raise SystemExit(f"command failed ({status}): {' '.join(argv)}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024**2


def _pandas_child(source: str, target: str) -> None:
    import pandas as pd

    from benchmarks.pandas_features import pandas_features

    pandas_features(pd.read_parquet(source)).to_parquet(target, **COMPRESSION)


def with_fleet_gaps(hourly: pl.DataFrame, seed: int) -> pl.DataFrame:
    """Missed hours (1 %), one outage of 2-36 hours on a fifth of the resources, and a fifth
    of the resources idle at exactly 0 (cpu, network, requests) for 1-3 days."""
    rng = np.random.default_rng(seed)
    ids = hourly["resource_id"].unique().sort()
    start = hourly["ts"].min()
    span_hours = int((hourly["ts"].max() - start).total_seconds() // 3600)
    events = pl.DataFrame(
        {
            "resource_id": ids,
            "outage_at": rng.integers(0, span_hours, ids.len()),
            "outage_hours": np.where(
                rng.random(ids.len()) < 0.2, rng.integers(2, 37, ids.len()), 0
            ),
            "idle_at": rng.integers(0, span_hours, ids.len()),
            "idle_hours": np.where(rng.random(ids.len()) < 0.2, rng.integers(24, 73, ids.len()), 0),
        }
    )
    hour = ((pl.col("ts") - start).dt.total_seconds() // 3600).cast(pl.Int64)
    during = lambda at, hours: (hour >= pl.col(at)) & (hour < pl.col(at) + pl.col(hours))  # noqa: E731
    idle = ("cpu_utilization", "network_io", "request_count")
    return (
        hourly.join(events, on="resource_id", how="left")
        .with_columns(_missed=pl.Series(rng.random(hourly.height) < 0.01))
        .filter(~pl.col("_missed") & ~during("outage_at", "outage_hours"))
        .with_columns(
            pl.when(during("idle_at", "idle_hours")).then(0.0).otherwise(pl.col(m)).alias(m)
            for m in idle
        )
        .select(hourly.columns)
    )


def compare(ours: pl.DataFrame, theirs: pl.DataFrame) -> dict[str, float]:
    """Largest disagreement per column, rows matched on (resource_id, ts): inf where the nulls
    differ, relative to max(|pandas|, 1) otherwise; the trend relative to the 24-hour level
    of its metric as well, since a slope near 0 from values near 1e9 keeps only the digits
    float64 has relative to those values. Fails on a column that either side lacks."""
    key = ["resource_id", "ts"]
    if set(ours.columns) != set(theirs.columns):
        only = {"ours": set(ours.columns) - set(theirs.columns)}
        only["pandas"] = set(theirs.columns) - set(ours.columns)
        raise SystemExit(f"columns differ: {only}")
    if ours.height != theirs.height:
        raise SystemExit(f"row counts differ: ours {ours.height}, pandas {theirs.height}")
    joined = ours.join(theirs, on=key, suffix="__pd")
    if joined.height != ours.height:
        raise SystemExit(f"rows differ: {ours.height - joined.height} rows of ours not in pandas")
    worst = {}
    for c in ours.columns:
        if c in key:
            continue
        if not ours[c].dtype.is_numeric():
            worst[c] = 0.0 if joined[c].equals(joined[f"{c}__pd"], check_names=False) else np.inf
            continue
        a = joined[c].cast(pl.Float64).to_numpy()
        b = joined[f"{c}__pd"].cast(pl.Float64).to_numpy()
        if (np.isnan(a) != np.isnan(b)).any():
            worst[c] = float("inf")
            continue
        both = ~np.isnan(a)
        scale = np.maximum(np.abs(b[both]), 1.0)
        if c.endswith("_trend_6h"):
            level = joined[f"{c.removesuffix('_trend_6h')}_max_24h"].to_numpy()[both]
            scale = np.maximum(scale, 1e-8 * np.abs(level))
        worst[c] = float((np.abs(a[both] - b[both]) / scale).max()) if both.any() else 0.0
    return worst


def _median_run(argv: list[str], repeats: int) -> tuple[float, float, list[float]]:
    runs = [_run(argv) for _ in range(repeats)]
    times = [t for t, _ in runs]
    return float(np.median(times)), max(m for _, m in runs), times


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--resources", type=int, default=2000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", default="data/benchmarks")
    parser.add_argument("--pandas-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pandas_child:
        _pandas_child(*args.pandas_child)
        return 0

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    source = work / f"hourly_gaps_{args.resources}x{args.days}.parquet"
    if not source.exists():
        print(f"simulating {args.resources} resources x {args.days} days ...", file=sys.stderr)
        hourly = simulated_hourly(
            SimulationConfig(resources=args.resources, seed=11), date(2026, 1, 1), args.days
        )
        with_fleet_gaps(hourly, seed=11).write_parquet(source, **COMPRESSION)
    frame = pl.scan_parquet(source)
    rows = frame.select(pl.len()).collect().item()
    zeros = frame.select((pl.col("cpu_utilization") == 0).sum()).collect().item()
    ours, theirs = work / "features_polars.parquet", work / "features_pandas.parquet"
    exe = str(Path(sys.executable))
    cli = str(Path(sys.executable).with_name("mlplatform"))
    ours_argv = [cli, "features", "--input", str(source), "--output", str(ours)]
    pandas_argv = [exe, "-m", "benchmarks.feature_benchmark", "--pandas-child", str(source)]
    t_ours, mem_ours, runs_ours = _median_run(ours_argv, args.repeats)
    t_pd, mem_pd, runs_pd = _median_run([*pandas_argv, str(theirs)], args.repeats)
    worst = compare(pl.read_parquet(ours), pl.read_parquet(theirs))
    failures = {
        c: d
        for c, d in worst.items()
        if d > TOLERANCE["trend" if c.endswith("trend_6h") else "default"]
    }
    size = f"{args.resources} resources x {args.days} days"
    print(f"input: {rows:,} rows ({size}; {zeros:,} idle hours at 0), {os.cpu_count()} cores")
    print(f"runs per side: {args.repeats}, each in its own process; median shown")
    print(
        f"mlplatform features: {t_ours:6.2f} s   peak memory {mem_ours:.2f} GiB   {_all(runs_ours)}"
    )
    print(f"pandas baseline:     {t_pd:6.2f} s   peak memory {mem_pd:.2f} GiB   {_all(runs_pd)}")
    print(f"speed-up: {t_pd / t_ours:.1f}x")
    print(f"largest relative difference: {max(worst.values()):.2e} ({max(worst, key=worst.get)})")
    print("results identical within tolerance" if not failures else f"MISMATCH: {failures}")
    return 0 if not failures else 1


def _all(times: list[float]) -> str:
    return "runs " + ", ".join(f"{t:.2f}" for t in times)


if __name__ == "__main__":
    raise SystemExit(main())
