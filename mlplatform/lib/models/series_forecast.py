"""Rolling-origin forecasts for one `timestamp,value` series with the platform's demand
forecaster: the series becomes one resource's request_count, gets feature set v1
(`features/engineering.py`), and is trained exactly as `models/demand_forecaster` is
(`forecasting.train`: time-ordered folds, seeded Optuna search). From every row i it forecasts
the next H rows using rows <= i only: models are refitted at row counts that double
(first_fit, 2·first_fit, ...), so a forecast never depends on the length of the file. Before
the first model, as the platform serves a naive forecast until it has a model, each row gets
the naive forecast that has been best so far (`best_naive_so_far`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import polars as pl

from mlplatform.lib.features.engineering import INPUT_COLUMNS, resource_hourly_features
from mlplatform.lib.models.detector import rows_per_day
from mlplatform.lib.models.forecasting import DEMAND, Dataset, ForecastSpec, build_dataset
from mlplatform.lib.models.forecasting import predict as predict_forecasts
from mlplatform.lib.models.forecasting import train as train_forecaster
from mlplatform.lib.models.training import SearchBudget, doubling, fit_booster, mae

SERIES_ID = "series"


@dataclass(frozen=True)
class SeriesForecastSettings:
    # Models refit at 125, 250, 500, 1,000, ... rows: from 1,000 rows on this is the schedule
    # of a first fit at 1,000, and on short cuts of the development files (500 and 1,000 rows)
    # models from 125 rows beat the best naive forecast so far (docs/evaluation.md).
    first_fit: int = 125
    budget: SearchBudget = field(default_factory=SearchBudget)


def series_table(values: np.ndarray, timestamps: np.ndarray) -> pl.DataFrame:
    """The series as the clean hourly table would hold it: one resource, its request_count."""
    frame = pl.DataFrame(
        {
            "resource_id": SERIES_ID,
            "ts": pl.Series(timestamps.astype("datetime64[us]")).dt.replace_time_zone("UTC"),
            DEMAND.target: values.astype(np.float64),
        }
    )
    others = [c for c in INPUT_COLUMNS if c not in frame.columns]
    return frame.with_columns(pl.lit(None, pl.Float64).alias(c) for c in others)


def series_spec(timestamps: np.ndarray, horizon: int) -> ForecastSpec:
    """The demand forecaster's spec at the series' own resolution, h counted in rows."""
    period = rows_per_day(timestamps)
    minutes = max(1, round(24 * 60 / period))
    return replace(
        DEMAND,
        horizons=tuple(range(1, horizon + 1)),
        step=f"{minutes}m",
        baselines={"same_time_yesterday": period, "same_time_last_week": 7 * period},
        by_row=True,
    )


def rolling_origin_forecast(
    values: np.ndarray,
    timestamps: np.ndarray,
    horizon: int,
    settings: SeriesForecastSettings | None = None,
    on_fit: Callable[[int, int, int], None] | None = None,
) -> np.ndarray:
    """(rows, horizon): [i, k-1] forecasts row i + k from rows <= i: the best naive forecast
    so far before the first fit (every row, if the series is no longer than `first_fit`).

    `on_fit(k, fits, rows)` is called after the k-th of `fits` models, trained on `rows` rows
    (a search and a fit each: a long series takes minutes)."""
    settings = settings or SeriesForecastSettings()
    n, threads = values.size, settings.budget.threads
    spec = series_spec(timestamps, horizon)
    features = resource_hourly_features(series_table(values, timestamps))
    known = build_dataset(features, spec)
    future = build_dataset(features, spec, with_target=False)
    out = np.full((n, horizon), np.nan)
    before_model = min(n, settings.first_fit)
    out[:before_model] = best_naive_so_far(values, timestamps, horizon)[:before_model]
    checkpoints = doubling(n, settings.first_fit)
    for c, start in enumerate(checkpoints):
        end = checkpoints[c + 1] if c + 1 < len(checkpoints) else n
        seen = known.frame.filter(pl.col("_row") + pl.col("horizon") < start)
        history = Dataset(seen, known.features, spec)
        trained = train_forecaster(history, settings.budget)
        # the holdout that measured the model is the most recent data: forecast with it too
        booster = fit_booster(
            history.X, history.y, trained.params, trained.rounds, history.features, threads
        )
        rows = future.frame.filter(pl.col("_row").is_between(start, end - 1))
        forecasts = predict_forecasts(booster, Dataset(rows, known.features, spec), threads)
        out[rows["_row"].to_numpy(), rows["horizon"].to_numpy() - 1] = forecasts
        if on_fit is not None:
            on_fit(c + 1, len(checkpoints), start)
    return out


def naive_forecasts(
    values: np.ndarray, timestamps: np.ndarray, horizon: int
) -> dict[str, np.ndarray]:
    """Last value, same time yesterday and same time last week, as (rows, horizon) arrays."""
    n, period = values.size, rows_per_day(timestamps)
    out = {}
    for name, back in (
        ("last_value", None),
        ("same_time_yesterday", period),
        ("same_time_last_week", 7 * period),
    ):
        f = np.full((n, horizon), np.nan)
        for k in range(1, horizon + 1):
            source = np.arange(n) if back is None else np.arange(n) + k - back
            ok = (source >= 0) & (source <= np.arange(n))  # never a row after the origin
            f[ok, k - 1] = values[source[ok]]
        out[name] = f
    return out


def best_naive_so_far(values: np.ndarray, timestamps: np.ndarray, horizon: int) -> np.ndarray:
    """(rows, horizon): at row i, per horizon, the naive forecast (`naive_forecasts`) whose
    earlier forecasts had the lowest MAE over the targets known at i (the last value until a
    target is known; ties go to the simpler baseline). Causal: row i reads rows <= i only."""
    candidates = list(naive_forecasts(values, timestamps, horizon).values())
    n = values.size
    out = np.full((n, horizon), np.nan)
    for k in range(1, horizon + 1):
        mean_errors = []
        for forecast in candidates:
            error = np.full(n, np.nan)
            error[: n - k] = np.abs(values[k:] - forecast[: n - k, k - 1])
            seen = ~np.isnan(error)
            total, count = np.cumsum(np.where(seen, error, 0.0)), np.cumsum(seen)
            # at row i the targets known are those of origins <= i - k
            known = np.arange(n) - k
            ok = known >= 0
            mean = np.full(n, np.inf)
            mean[ok] = np.where(
                count[known[ok]] > 0, total[known[ok]] / np.maximum(count[known[ok]], 1), np.inf
            )
            mean_errors.append(mean)
        choice = np.argmin(np.stack(mean_errors), axis=0)  # first (simplest) on ties
        picked = np.stack([c[:, k - 1] for c in candidates])[choice, np.arange(n)]
        out[:, k - 1] = np.where(np.isnan(picked), candidates[0][:, k - 1], picked)
    return out


def forecast_errors(values: np.ndarray, forecasts: np.ndarray, start: int) -> list[float]:
    """MAE per horizon over origins >= start whose target row exists."""
    n, horizon = forecasts.shape
    errors = []
    for k in range(1, horizon + 1):
        origins = np.arange(start, n - k)
        pred = forecasts[origins, k - 1]
        ok = ~np.isnan(pred)
        errors.append(mae(values[origins + k][ok], pred[ok]) if ok.any() else float("nan"))
    return errors
