"""Causal anomaly scores for one series: a LightGBM one-step forecaster, its normalised
residuals, and how the recent surprise compares with the largest of the recent past.

Everything at row i uses rows <= i only. Models are refitted at fixed row counts that double
(first_fit, 2·first_fit, ...), so a score never depends on how long the file is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from mlplatform.lib.forecasting import symlog
from mlplatform.lib.training import fit_booster


@dataclass(frozen=True)
class DetectorSettings:
    lags: int = 6
    first_fit: int = 400  # rows before the first model; no alert before it
    residual_window: int = 400  # past residuals that normalise the current one
    short_window: int = 6  # recent surprises averaged
    long_window: int = 800  # past rows whose largest average surprise is the record
    threshold: float = 0.55  # score that raises an alert: 22 % above the recent record
    suppress: int = 200  # rows after an alert during which no new alert fires
    rounds: int = 80
    threads: int = 2


def _period(timestamps: np.ndarray) -> int:
    """Rows per day from the typical sampling step (at least 2, at most 2000)."""
    steps = np.diff(timestamps.astype("datetime64[s]").astype(np.int64))
    step = float(np.median(steps)) if steps.size else 3600.0
    return int(min(2000, max(2, round(86400 / max(step, 1.0)))))


def series_features(values: np.ndarray, timestamps: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Features for row i from rows < i (lags, rolling statistics, same time yesterday)
    and from row i's own timestamp (hour, day of week)."""
    timestamps = timestamps.astype("datetime64[us]")
    z = symlog(values.astype(np.float64))
    period = _period(timestamps)
    s = pl.Series(z)
    prev = s.shift(1)
    columns = {f"lag_{k}": (s.shift(k) - prev).to_numpy() for k in range(2, 7)}
    columns |= {
        "prev": prev.to_numpy(),
        "mean_12": (prev.rolling_mean(12, min_samples=1) - prev).to_numpy(),
        "std_12": prev.rolling_std(12, min_samples=2).to_numpy(),
        "mean_day": (prev.rolling_mean(period, min_samples=1) - prev).to_numpy(),
        "std_day": prev.rolling_std(period, min_samples=2).to_numpy(),
        "yesterday": (s.shift(period) - prev).to_numpy(),
        "yesterday_next": (s.shift(period - 1) - prev).to_numpy(),
    }
    ts = pl.Series(timestamps).cast(pl.Datetime("us"))
    columns["hour"] = (ts.dt.hour().cast(pl.Float64) + ts.dt.minute() / 60).to_numpy()
    columns["day_of_week"] = ts.dt.weekday().cast(pl.Float64).to_numpy()
    names = list(columns)
    return np.column_stack([columns[n] for n in names]).astype(np.float64), names


def _checkpoints(n: int, first: int) -> list[int]:
    points, c = [], first
    while c < n:
        points.append(c)
        c *= 2
    return points


def residuals(values: np.ndarray, timestamps: np.ndarray, settings: DetectorSettings) -> np.ndarray:
    """One-step-ahead residuals in symlog space; NaN before the first model."""
    X, names = series_features(values, timestamps)
    z = symlog(values.astype(np.float64))
    target = z - np.concatenate([[np.nan], z[:-1]])
    out = np.full(values.size, np.nan)
    params = {
        "objective": "huber",
        "learning_rate": 0.1,
        "num_leaves": 15,
        "min_data_in_leaf": 20,
        "seed": 7,
    }
    checkpoints = _checkpoints(values.size, settings.first_fit)
    for k, start in enumerate(checkpoints):
        end = checkpoints[k + 1] if k + 1 < len(checkpoints) else values.size
        rows = np.arange(1, start)
        rows = rows[~np.isnan(target[rows])]
        booster = fit_booster(
            X[rows], target[rows], params, settings.rounds, names, settings.threads
        )
        pred = booster.predict(X[start:end], num_threads=settings.threads)
        out[start:end] = target[start:end] - pred
    return out


def record_score(surprise: np.ndarray, settings: DetectorSettings) -> np.ndarray:
    """m / (m + M): m the recent mean surprise, M the largest such mean over the
    `long_window` rows before. 0.5 means "as surprising as the worst of the recent past";
    the threshold asks for clearly more. Empirical, so heavy-tailed residuals need no model."""
    m = pl.Series(surprise).fill_nan(None).rolling_mean(settings.short_window, min_samples=1)
    record = m.shift(settings.short_window).rolling_max(
        settings.long_window, min_samples=settings.long_window // 2
    )
    score = (m / (m + record + 1e-12)).fill_nan(None).fill_null(0.0).to_numpy()
    return np.clip(score, 0.0, 1.0)


def score_series(
    values: np.ndarray, timestamps: np.ndarray, settings: DetectorSettings | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(anomaly_score in [0, 1], is_anomaly) for every row, causally."""
    settings = settings or DetectorSettings()
    e = pl.Series(residuals(values, timestamps, settings))
    past = e.shift(1)
    centre = past.rolling_median(settings.residual_window, min_samples=30)
    spread = (e - centre).abs().shift(1).rolling_median(settings.residual_window, min_samples=30)
    # rows without a residual (before the first model) stay null: they set no record
    zscore = ((e - centre) / (1.4826 * spread + 1e-9)).abs().fill_nan(None)
    score = np.where(np.isnan(e.to_numpy()), 0.0, record_score(zscore.to_numpy(), settings))
    return score, alerts(score, settings)


def alerts(score: np.ndarray, settings: DetectorSettings) -> np.ndarray:
    """Scores at or over the threshold, at most one alert per `suppress` rows."""
    flagged = np.zeros(score.size, dtype=bool)
    last = -settings.suppress - 1
    for i in np.flatnonzero(score >= settings.threshold):
        if i - last > settings.suppress:
            flagged[i] = True
            last = i
    return flagged
