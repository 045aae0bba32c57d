"""Rolling-origin forecasts for one series: from every row i, the next H values, using rows
<= i only. One LightGBM model covers all horizons; it is refitted at row counts that double
(first_fit, 2·first_fit, ...), so forecasts never depend on the length of the file."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlplatform.lib.models.detector import FEATURES, rows_per_day, series_features
from mlplatform.lib.models.forecasting import symexp, symlog
from mlplatform.lib.models.training import doubling, fit_booster, mae

PARAMS = {
    "objective": "regression_l1",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 40,
    "seed": 7,
}


@dataclass(frozen=True)
class SeriesForecastSettings:
    first_fit: int = 1000
    rounds: int = 300
    threads: int = 2


def _origin_features(values: np.ndarray, timestamps: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Features at origin i from rows <= i: the one-step features of a row i + 1 appended."""
    step = np.median(np.diff(timestamps)) if timestamps.size > 1 else np.timedelta64(1, "h")
    extended_values = np.append(values.astype(np.float64), np.nan)
    extended_times = np.append(timestamps, timestamps[-1] + step)
    return series_features(extended_values, extended_times)[1:], list(FEATURES)


def rolling_origin_forecast(
    values: np.ndarray,
    timestamps: np.ndarray,
    horizon: int,
    settings: SeriesForecastSettings | None = None,
) -> np.ndarray:
    """(rows, horizon): [i, k-1] forecasts row i + k from rows <= i; NaN before the first fit."""
    settings = settings or SeriesForecastSettings()
    n = values.size
    base, names = _origin_features(values, timestamps)
    z = symlog(values.astype(np.float64))
    out = np.full((n, horizon), np.nan)
    checkpoints = doubling(n, settings.first_fit)
    ks = np.arange(1, horizon + 1)
    names = [*names, "horizon"]
    for c, start in enumerate(checkpoints):
        end = checkpoints[c + 1] if c + 1 < len(checkpoints) else n
        rows, targets, Xs = [], [], []
        for k in ks:
            origins = np.arange(1, start - k)  # the target row i + k is before the checkpoint
            y = z[origins + k] - z[origins]
            ok = ~np.isnan(y) & ~np.isnan(z[origins])
            Xs.append(np.column_stack([base[origins[ok]], np.full(ok.sum(), k)]))
            targets.append(y[ok])
            rows.append(origins[ok])
        booster = fit_booster(
            np.vstack(Xs), np.concatenate(targets), PARAMS, settings.rounds, names, settings.threads
        )
        for k in ks:
            X = np.column_stack([base[start:end], np.full(end - start, k)])
            out[start:end, k - 1] = symexp(
                z[start:end] + booster.predict(X, num_threads=settings.threads)
            )
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
