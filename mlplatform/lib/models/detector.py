"""Causal anomaly scores for one series from three label-free signals:

- surprise: a LightGBM one-step forecaster's normalised residuals; how far the mean of the
  last few stands above their past mean, in standard errors (HTM's "anomaly likelihood" idea);
- novelty: how far the last `shape_length` values are from the most similar earlier shape,
  against the largest such distance of the recent past (`novelty.py`);
- range: a value beyond every earlier value of the series.

Each signal divided by its threshold is a ratio; the score is half the largest ratio, capped
at 1, so 0.5 means "one signal reached its threshold". Everything at row i uses rows <= i only.
Models are refitted at fixed row counts that double (first_fit, 2·first_fit, ...), so a score
never depends on how long the file is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from mlplatform.lib.models.forecasting import symlog
from mlplatform.lib.models.novelty import left_neighbour_distance
from mlplatform.lib.models.training import fit_booster


@dataclass(frozen=True)
class DetectorSettings:
    first_fit: int = 400  # rows before the first model; no alert before it
    residual_window: int = 400  # past residuals that normalise the current one
    surprise_window: int = 5  # recent normalised residuals averaged
    surprise_history: int = 1000  # past rows whose mean and spread they are compared with
    surprise_threshold: float = 12.0  # standard errors above the past mean
    shape_length: int = 24  # rows in one shape
    novelty_record: int = 1000  # rows whose largest nearest-shape distance is the record
    novelty_history: int = 10_000  # how far back a similar shape is looked for
    novelty_threshold: float = 0.55  # d / (d + record): 22 % beyond the recent record
    range_tolerance: float = 0.05  # beyond the range by 5 % of its width (HTM's NAB setting)
    suppress: int = 100  # rows after an alert during which no new alert fires
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


def surprise(e: np.ndarray, settings: DetectorSettings) -> np.ndarray:
    """Robust z of each residual against the residuals before it, then the standardised
    excess of the recent mean |z| over its past mean (0 when below it)."""
    e_s = pl.Series(e).fill_nan(None)
    centre = e_s.shift(1).rolling_median(settings.residual_window, min_samples=30)
    spread = (e_s - centre).abs().shift(1).rolling_median(settings.residual_window, min_samples=30)
    z = ((e_s - centre) / (1.4826 * spread + 1e-9)).abs()
    k = settings.surprise_window
    recent = z.rolling_mean(k, min_samples=1)
    past = z.shift(1)
    mean = past.rolling_mean(settings.surprise_history, min_samples=200)
    std = past.rolling_std(settings.surprise_history, min_samples=200)
    t = (recent - mean) / (std / np.sqrt(k) + 1e-9)
    return t.fill_nan(None).fill_null(0.0).clip(0.0, None).to_numpy()


def novelty(values: np.ndarray, settings: DetectorSettings) -> np.ndarray:
    """d / (d + record): d the nearest earlier shape's distance, record the largest d of the
    recent past. 0.5 means "as new as the newest shape of the recent past"."""
    m = settings.shape_length
    d = left_neighbour_distance(symlog(values.astype(np.float64)), m, settings.novelty_history)
    d_s = pl.Series(d).fill_nan(None)
    window = settings.novelty_record
    record = d_s.shift(m).rolling_max(window, min_samples=window // 2)
    return (d_s / (d_s + record + 1e-12)).fill_nan(None).fill_null(0.0).to_numpy()


def beyond_range(values: np.ndarray, tolerance: float) -> np.ndarray:
    """1 + how far a value lies beyond every earlier value, in units of their range, once
    that is at least `tolerance`; 0 otherwise. A trending series still sets clear records
    now and then: `suppress` keeps that to one alert per window (gating this signal on the
    residual surprise cost 5 to 10 NAB points)."""
    v = pl.Series(values.astype(np.float64))
    high, low = v.cum_max().shift(1), v.cum_min().shift(1)
    width = (high - low).to_numpy()
    over = np.maximum((v - high).to_numpy(), (low - v).to_numpy())
    excess = np.divide(over, width, out=np.zeros_like(over), where=width > 0)
    beyond = (over > 0) & ((width == 0) | (excess >= tolerance))
    return np.nan_to_num(np.where(beyond, 1.0 + excess, 0.0))


def signals(
    values: np.ndarray, timestamps: np.ndarray, settings: DetectorSettings
) -> dict[str, np.ndarray]:
    """The three signals of every row, before thresholds."""
    return {
        "surprise": surprise(residuals(values, timestamps, settings), settings),
        "novelty": novelty(values, settings),
        "beyond_range": beyond_range(values, settings.range_tolerance),
    }


def combine(signal: dict[str, np.ndarray], settings: DetectorSettings) -> np.ndarray:
    """Half the largest signal-to-threshold ratio, in [0, 1]; zero before the first model."""
    ratios = np.maximum.reduce(
        [
            signal["surprise"] / settings.surprise_threshold,
            signal["novelty"] / settings.novelty_threshold,
            signal["beyond_range"],
        ]
    )
    score = np.clip(ratios / 2, 0.0, 1.0)
    score[: settings.first_fit] = 0.0
    return score


def score_series(
    values: np.ndarray, timestamps: np.ndarray, settings: DetectorSettings | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(anomaly_score in [0, 1], is_anomaly) for every row, causally."""
    settings = settings or DetectorSettings()
    score = combine(signals(values, timestamps, settings), settings)
    return score, alerts(score, settings)


def alerts(score: np.ndarray, settings: DetectorSettings) -> np.ndarray:
    """Scores of 0.5 or more (a signal at its threshold), at most one alert per `suppress` rows."""
    flagged = np.zeros(score.size, dtype=bool)
    last = -settings.suppress - 1
    for i in np.flatnonzero(score >= 0.5):
        if i - last > settings.suppress:
            flagged[i] = True
            last = i
    return flagged
