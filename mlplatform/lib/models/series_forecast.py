"""Rolling-origin forecasts for one `timestamp,value` series with the platform's demand
forecaster: the series becomes one resource's request_count, gets feature set v1
(`features/engineering.py`), and is trained exactly as `models/demand_forecaster` is
(`forecasting.train`: time-ordered folds, seeded Optuna search). From every row i it forecasts
the next H rows using rows <= i only: models are refitted at row counts that double
(first_fit, 2·first_fit, ...), so a forecast never depends on the length of the file. Before
the first model, as the platform serves a naive forecast until it has a model, each row gets
the naive forecast that has been best so far (`best_naive_so_far`); after it, a naive forecast
that has been clearly better than the model over the last day replaces it (`guarded_by_naive`):
a model refitted at doublings can be left behind by a change between two fits. The platform's
serving does not do this (docs/evaluation.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import polars as pl

from mlplatform.lib.features.engineering import INPUT_COLUMNS, resource_hourly_features
from mlplatform.lib.models.detector import rows_per_day
from mlplatform.lib.models.forecasting import (
    DEMAND,
    Dataset,
    ForecastSpec,
    build_dataset,
    guarded_forecasts,
)
from mlplatform.lib.models.forecasting import predict as predict_forecasts
from mlplatform.lib.models.forecasting import train as train_forecaster
from mlplatform.lib.models.naive_guard import NaiveGuard
from mlplatform.lib.models.training import SearchBudget, doubling, fit_booster

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
        guard=NaiveGuard(),
    )


@dataclass(frozen=True)
class RollingForecast:
    forecasts: np.ndarray  # (rows, horizon)
    by_naive: np.ndarray  # (rows, horizon), True where a naive forecast was given
    first_model_row: int  # the first row the model forecasts (the series' length: none)


def rolling_origin_forecast(
    values: np.ndarray,
    timestamps: np.ndarray,
    horizon: int,
    settings: SeriesForecastSettings | None = None,
    on_fit: Callable[[int, int, int], None] | None = None,
) -> RollingForecast:
    """(rows, horizon): [i, k-1] forecasts row i + k from rows <= i: the best naive forecast
    so far before the first fit (every row, if the series is no longer than `first_fit`), the
    model's after it, unless a naive forecast has been clearly better over the last day
    (`guarded_by_naive`).

    `on_fit(k, fits, rows)` is called after the k-th of `fits` models, trained on `rows` rows
    (a search and a fit each: a long series takes minutes)."""
    settings = settings or SeriesForecastSettings()
    n, threads = values.size, settings.budget.threads
    spec = series_spec(timestamps, horizon)
    features = resource_hourly_features(series_table(values, timestamps))
    known = build_dataset(features, spec)
    future = build_dataset(features, spec, with_target=False)
    naive = naive_forecasts(values, timestamps, horizon)
    out = np.full((n, horizon), np.nan)
    before_model = min(n, settings.first_fit)
    out[:before_model] = best_naive_so_far(values, naive)[:before_model]
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
    guarded, replaced = guarded_by_naive(values, timestamps, out, naive, spec)
    guarded[:before_model], replaced[:before_model] = out[:before_model], True  # naive already
    return RollingForecast(guarded, replaced, before_model)


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


def best_naive_so_far(values: np.ndarray, naive: dict[str, np.ndarray]) -> np.ndarray:
    """(rows, horizon): at row i, per horizon, the naive forecast (of `naive_forecasts`) whose
    earlier forecasts had the lowest MAE over the targets known at i (the last value until a
    target is known; ties go to the simpler baseline). Causal: row i reads rows <= i only."""
    first = next(iter(naive.values()))
    out = np.full(first.shape, np.nan)
    rows = np.arange(values.size)
    for k in range(1, first.shape[1] + 1):
        candidates = np.stack([f[:, k - 1] for f in naive.values()])
        means = np.stack([known_error_means(values, c, k) for c in candidates])
        best = np.argmin(np.nan_to_num(means, nan=np.inf), axis=0)
        picked = candidates[best, rows]
        out[:, k - 1] = np.where(np.isnan(picked), first[:, k - 1], picked)
    return out


def guarded_by_naive(
    values: np.ndarray,
    timestamps: np.ndarray,
    forecasts: np.ndarray,
    naive: dict[str, np.ndarray],
    spec: ForecastSpec,
) -> tuple[np.ndarray, np.ndarray]:
    """(rows, horizon) `forecasts` with the spec's naive guard (`forecasting.guarded_forecasts`)
    over a day of the series' own rows; and where a naive forecast replaced one (rows,
    horizon)."""
    n, horizon = forecasts.shape
    rows, k = np.repeat(np.arange(n), horizon), np.tile(np.arange(1, horizon + 1), n)
    target = rows + k
    frame = pl.DataFrame(
        {
            SERIES_ID: SERIES_ID,
            "_row": rows,
            "horizon": k,
            "forecast": forecasts.ravel(),
            **{f"_baseline_{name}": f.ravel() for name, f in naive.items()},
            "_y_future": np.where(target < n, values[np.minimum(target, n - 1)], np.nan),
        },
        nan_to_null=True,
    )
    steps = max(1, round(spec.guard.days * rows_per_day(timestamps)))
    out = guarded_forecasts(frame, replace(spec, series=(SERIES_ID,)), steps, "model")
    out = out.sort("_row", "horizon")
    guarded = out["forecast"].fill_null(np.nan).to_numpy(writable=True).reshape(n, horizon)
    return guarded, (out["forecast_by"] != "model").to_numpy(writable=True).reshape(n, horizon)


def known_error_means(values: np.ndarray, forecast: np.ndarray, k: int) -> np.ndarray:
    """At each row i, the MAE of `forecast` (horizon k: row j forecasts row j + k) over the
    origins j <= i - k, whose target is known at i. NaN where none of them has a forecast."""
    n = values.size
    error = np.full(n, np.nan)
    error[: n - k] = np.abs(values[k:] - forecast[: n - k])
    seen = ~np.isnan(error)
    total = np.concatenate([[0.0], np.cumsum(np.where(seen, error, 0.0))])
    count = np.concatenate([[0], np.cumsum(seen)])
    last = np.clip(np.arange(n) - k + 1, 0, n)  # origins before `last` have known targets
    with np.errstate(invalid="ignore", divide="ignore"):
        means = total[last] / count[last]
    return np.where(count[last] >= 1, means, np.nan)
