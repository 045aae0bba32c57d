"""How far the demand forecaster's inputs and learner can go on one series, whatever the
refit schedule: the scored rows (after the 30 % warm-up) are cut into blocks, and each block
is forecast by a model fitted on every other row of the series, the future included, with a
day's margin either side of the block. That is no forecast anyone could make; it bounds what
`mlplatform forecast`'s rolling origin, which fits on the past only, can reach with these
inputs and this learner.

    .venv/bin/python -m benchmarks.forecast_ceiling                     # nyc_taxi, h1..h4
    .venv/bin/python -m benchmarks.forecast_ceiling --max-rounds 2000   # a larger learner

Prints the model's MAE over the best naive baseline's per horizon, as
`benchmarks.forecast_evaluation` does, so the two figures compare directly.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.forecast_evaluation import DEFAULT, WARM_UP, relative_to_best_naive
from mlplatform.lib.features.engineering import resource_hourly_features
from mlplatform.lib.ingest.series_csv import read_series
from mlplatform.lib.models.detector import rows_per_day
from mlplatform.lib.models.forecasting import Dataset, build_dataset, predict, train
from mlplatform.lib.models.series_forecast import series_spec, series_table
from mlplatform.lib.models.training import SearchBudget, fit_booster


def cross_fitted_forecasts(
    values: np.ndarray, timestamps: np.ndarray, horizon: int, budget: SearchBudget, blocks: int
) -> np.ndarray:
    """(rows, horizon) forecasts of the scored rows, each block's from a model fitted on the
    rest of the series (one search on the whole series picks the parameters)."""
    spec = series_spec(timestamps, horizon)
    known = build_dataset(resource_hourly_features(series_table(values, timestamps)), spec)
    trained = train(known, budget)
    rows = known.frame["_row"].to_numpy()
    horizons = known.frame["horizon"].to_numpy()
    margin = rows_per_day(timestamps)
    edges = np.linspace(int(WARM_UP * values.size), values.size, blocks + 1, dtype=int)
    out = np.full((values.size, horizon), np.nan)
    for first, end in itertools.pairwise(edges):
        fit = (rows + horizons < first - margin) | (rows >= end + margin)
        booster = fit_booster(
            known.X[fit],
            known.y[fit],
            trained.params,
            trained.rounds,
            known.features,
            budget.threads,
        )
        block = (rows >= first) & (rows < end)
        scored = Dataset(known.frame.filter(pl.Series(block)), known.features, spec)
        out[rows[block], horizons[block] - 1] = predict(booster, scored, budget.threads)
        print(f"block of rows {first}-{end - 1} forecast", flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--file", type=Path, default=DEFAULT, help="a timestamp,value CSV")
    parser.add_argument("--horizon", type=int, default=4)
    parser.add_argument("--blocks", type=int, default=6)
    parser.add_argument(
        "--max-rounds",
        type=int,
        default=SearchBudget().max_rounds,
        help="boosting rounds the search may use (default: %(default)s, as shipped)",
    )
    args = parser.parse_args()
    budget = SearchBudget(max_rounds=args.max_rounds, timeout_seconds=1800)
    timestamps, values = read_series(args.file)
    forecasts = cross_fitted_forecasts(values, timestamps, args.horizon, budget, args.blocks)
    ratios = relative_to_best_naive(values, timestamps, forecasts)
    cells = ", ".join(f"h{k} {r:.3f}" for k, r in enumerate(ratios, start=1))
    print(f"{args.file.name}, cross-fitted (future included): {cells}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
