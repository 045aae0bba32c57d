"""Rolling-origin forecast evaluation of `mlplatform forecast` (the platform's demand
forecaster, `lib/models/series_forecast.py`) on NAB series, scored after a 30 % warm-up
against the naive baselines (last value, same time yesterday, same time last week).

    .venv/bin/python -m benchmarks.forecast_evaluation                # nyc_taxi, horizon 4
    .venv/bin/python -m benchmarks.forecast_evaluation --folder FOLDER  # every CSV under it
    ... --rows 1000 --first-fit 1000   # each file's first 1,000 rows; first model on 1,000

Prints, per file and horizon, the model's MAE over the best naive baseline's (lower is
better; 1.0 is no better than naive), and their mean over the horizons.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from mlplatform.lib.ingest.series_csv import read_series
from mlplatform.lib.models.series_forecast import (
    SeriesForecastSettings,
    naive_forecasts,
    rolling_origin_forecast,
)
from mlplatform.lib.models.training import mae

DEFAULT = Path(__file__).resolve().parents[2] / "shared/data/nab/realKnownCause/nyc_taxi.csv"
WARM_UP = 0.3
TINY = np.finfo(float).tiny  # a baseline without error: any model error is infinitely worse


def relative_errors(
    path: Path,
    horizon: int,
    rows: int | None = None,
    settings: SeriesForecastSettings | None = None,
) -> tuple[list[float], int, float]:
    """Model MAE / best naive MAE per horizon, the rows, and the seconds it took; on the
    file's first `rows` rows if given."""
    timestamps, values = read_series(path)
    timestamps, values = timestamps[:rows], values[:rows]
    started = time.perf_counter()
    forecasts = rolling_origin_forecast(values, timestamps, horizon, settings).forecasts
    seconds = time.perf_counter() - started
    return relative_to_best_naive(values, timestamps, forecasts), values.size, seconds


def relative_to_best_naive(
    values: np.ndarray, timestamps: np.ndarray, forecasts: np.ndarray
) -> list[float]:
    """Per horizon, the MAE of `forecasts` (rows, horizon) over the best naive baseline's,
    on the origins after the warm-up.

    Each baseline is compared with the model on the rows it forecasts (same time last week
    has no forecast in a series' first week, which a short file's scored rows may include),
    and the figure is the model's against its strongest baseline: the largest of those
    ratios. Where every baseline forecasts every scored row, that is the model's MAE over the
    lowest baseline MAE."""
    horizon = forecasts.shape[1]
    start = int(WARM_UP * values.size)
    naive = list(naive_forecasts(values, timestamps, horizon).values())
    ratios = []
    for k in range(1, horizon + 1):
        origins = np.arange(start, values.size - k)
        pred = forecasts[origins, k - 1]
        against = []
        for baseline in naive:
            base = baseline[origins, k - 1]
            ok = ~np.isnan(pred) & ~np.isnan(base)
            if ok.any():
                truth = values[origins[ok] + k]
                against.append(mae(truth, pred[ok]) / max(mae(truth, base[ok]), TINY))
        ratios.append(max(against, default=float("nan")))
    return ratios


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--file", type=Path, action="append", help="a timestamp,value CSV")
    parser.add_argument("--folder", type=Path, help="every CSV under it")
    parser.add_argument("--horizon", type=int, default=4)
    parser.add_argument("--rows", type=int, help="score only each file's first ROWS rows")
    parser.add_argument(
        "--first-fit",
        type=int,
        default=SeriesForecastSettings().first_fit,
        help="rows of the first model (default: %(default)s, as mlplatform forecast)",
    )
    args = parser.parse_args()
    settings = SeriesForecastSettings(first_fit=args.first_fit)
    files = list(args.file or [])
    if args.folder:
        files += sorted(args.folder.rglob("*.csv"))
    files = files or [DEFAULT]
    header = " | ".join(f"h{k}" for k in range(1, args.horizon + 1))
    print(f"| file | rows | {header} | mean | seconds |")
    print("|---|---|" + "---|" * args.horizon + "---|---|")
    means = []
    for path in files:
        ratios, rows, seconds = relative_errors(path, args.horizon, args.rows, settings)
        means.append(float(np.mean(ratios)))
        cells = " | ".join(f"{r:.3f}" for r in ratios)
        print(f"| {path.name} | {rows} | {cells} | {means[-1]:.3f} | {seconds:.0f} |")
    overall = float(np.mean(means))
    print(f"\nmean relative MAE, {len(files)} file(s), h1..h{args.horizon}: {overall:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
