"""Rolling-origin forecast evaluation on a NAB series (default nyc_taxi.csv, horizon 4):
the same code as `mlplatform forecast`, scored after the 30 % warm-up against the naive
baselines (last value, same time yesterday, same time last week).

    .venv/bin/python -m benchmarks.forecast_evaluation [--file PATH] [--horizon 4]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import polars as pl

from mlplatform.lib.models.series_forecast import (
    forecast_errors,
    naive_forecasts,
    rolling_origin_forecast,
)

DEFAULT = Path(__file__).resolve().parents[2] / "shared/data/nab/realKnownCause/nyc_taxi.csv"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--file", type=Path, default=DEFAULT)
    parser.add_argument("--horizon", type=int, default=4)
    args = parser.parse_args()
    frame = pl.read_csv(args.file, try_parse_dates=True)
    values, timestamps = frame["value"].to_numpy().astype(float), frame["timestamp"].to_numpy()
    started = time.perf_counter()
    forecasts = rolling_origin_forecast(values, timestamps, args.horizon)
    seconds = time.perf_counter() - started
    start = int(0.3 * values.size)
    model = forecast_errors(values, forecasts, start)
    naive = {
        n: forecast_errors(values, f, start)
        for n, f in naive_forecasts(values, timestamps, args.horizon).items()
    }
    print(f"{args.file.name}: {values.size} rows, scored from row {start} (after the 30 % warm-up)")
    print(f"forecasting took {seconds:.1f} s")
    print("| horizon | model MAE | " + " | ".join(naive) + " | best naive | improvement |")
    print("|---|---|" + "---|" * len(naive) + "---|---|")
    for k in range(args.horizon):
        best = min(v[k] for v in naive.values())
        cells = " | ".join(f"{v[k]:.0f}" for v in naive.values())
        print(f"| h{k + 1} | {model[k]:.0f} | {cells} | {best:.0f} | {1 - model[k] / best:.0%} |")
    mean_model = float(np.mean(model))
    mean_best = min(float(np.mean(v)) for v in naive.values())
    gain = 1 - mean_model / mean_best
    print(f"\nmean over h1..h{args.horizon}: model {mean_model:.0f}, best naive {mean_best:.0f}")
    print(f"improvement over the best naive baseline: {gain:.0%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
