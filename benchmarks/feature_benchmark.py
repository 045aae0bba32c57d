"""Benchmark: `mlplatform features` against a plain pandas implementation of FEATURES.md.

    .venv/bin/python -m benchmarks.feature_benchmark [--resources 2000] [--days 90]

Each side runs in its own process (parquet in, parquet out) so peak memory is its own.
Prints both times, the ratio, peak memory and the largest disagreement between the outputs.
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

    pandas_features(pd.read_parquet(source)).to_parquet(target)


def compare(ours: pl.DataFrame, theirs: pl.DataFrame) -> dict[str, float]:
    """Largest relative difference per feature column, rows matched on (resource_id, ts)."""
    key = ["resource_id", "ts"]
    joined = ours.join(theirs, on=key, suffix="__pd")
    if joined.height != ours.height or ours.height != theirs.height:
        raise SystemExit(f"row counts differ: ours {ours.height}, pandas {theirs.height}")
    worst = {}
    for c in ours.columns:
        if c in key or f"{c}__pd" not in joined.columns or not ours[c].dtype.is_numeric():
            continue
        a = joined[c].cast(pl.Float64).to_numpy()
        b = joined[f"{c}__pd"].cast(pl.Float64).to_numpy()
        if (np.isnan(a) != np.isnan(b)).any():
            worst[c] = float("inf")
            continue
        both = ~np.isnan(a)
        scale = np.maximum(np.abs(b[both]), 1.0)
        worst[c] = float((np.abs(a[both] - b[both]) / scale).max()) if both.any() else 0.0
    return worst


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--resources", type=int, default=2000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--workdir", default="data/benchmarks")
    parser.add_argument("--pandas-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pandas_child:
        _pandas_child(*args.pandas_child)
        return 0

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    source = work / f"hourly_{args.resources}x{args.days}.parquet"
    if not source.exists():
        print(f"simulating {args.resources} resources x {args.days} days ...", file=sys.stderr)
        simulated_hourly(
            SimulationConfig(resources=args.resources, seed=11), date(2026, 1, 1), args.days
        ).write_parquet(source)
    rows = pl.scan_parquet(source).select(pl.len()).collect().item()
    ours, theirs = work / "features_polars.parquet", work / "features_pandas.parquet"
    exe = str(Path(sys.executable))
    cli = str(Path(sys.executable).with_name("mlplatform"))
    t_ours, mem_ours = _run([cli, "features", "--input", str(source), "--output", str(ours)])
    t_pd, mem_pd = _run(
        [exe, "-m", "benchmarks.feature_benchmark", "--pandas-child", str(source), str(theirs)]
    )
    worst = compare(pl.read_parquet(ours), pl.read_parquet(theirs))
    failures = {
        c: d
        for c, d in worst.items()
        if d > TOLERANCE["trend" if c.endswith("trend_6h") else "default"]
    }
    size = f"{args.resources} resources x {args.days} days"
    print(f"input: {rows:,} rows ({size}), {os.cpu_count()} cores")
    print(f"mlplatform features: {t_ours:6.2f} s   peak memory {mem_ours:.2f} GiB")
    print(f"pandas baseline:     {t_pd:6.2f} s   peak memory {mem_pd:.2f} GiB")
    print(f"speed-up: {t_pd / t_ours:.1f}x")
    print(f"largest relative difference: {max(worst.values()):.2e} ({max(worst, key=worst.get)})")
    print("results identical within tolerance" if not failures else f"MISMATCH: {failures}")
    return 0 if not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
