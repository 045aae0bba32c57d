"""The platform's anomaly detector: causal, per series, for any metric at any resolution.

Four label-free signals:
- surprise: a LightGBM one-step forecaster's normalised residuals; how far the mean of the
  last few stands above their past mean, in standard errors (HTM's "anomaly likelihood" idea);
- novelty: how far the last `shape_length` values are from the most similar earlier shape,
  against the largest such distance of the recent past (`novelty.py`);
- range: a value beyond every value of the recent past;
- flatline: the same value repeated for longer than any run of one value in the recent past
  (at least `flat_hours`): a metric stuck at its last reading, as a hung agent reports it.

Each signal divided by its threshold is a ratio; the score is half the largest ratio, capped
at 1, so 0.5 means "one signal reached its threshold", and the alert names that signal.

Every signal at row i reads only rows i - `memory(period)` .. i, so the platform scores a day
from that much history and gets what a scan of the whole series gives. The one-step model
comes from one of two places, through the same functions:
- the platform fits one model on every (resource, metric) series of its training window
  (`fit`), registers it, and serves it (`score`);
- `mlplatform detect` has one series and no registry: `score_causally` refits on the series'
  own past at row counts that double (first_fit, 2·first_fit, ...) and, before the first
  fit, expects the last value. Nothing alerts during the first `warmup` rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from mlplatform.lib.models.forecasting import symlog
from mlplatform.lib.models.novelty import left_neighbour_distance
from mlplatform.lib.models.training import (
    DEFAULT_THREADS,
    doubling,
    fit_booster,
    mae,
    subsample_indices,
)

SIGNALS = ("surprise", "novelty", "beyond_range", "flatline")
PREDICT_BATCH_ROWS = 200_000  # rows of many series predicted at once (~20 MB of features)
FEATURES = (
    *(f"lag_{k}" for k in range(2, 7)),
    "prev",
    "mean_12",
    "std_12",
    "mean_day",
    "std_day",
    "yesterday",
    "yesterday_next",
    "hour",
    "day_of_week",
)
# Features and targets are rounded to this many decimals of symlog units (a millionth of the
# value above 1, an absolute 1e-6 below: a series whose whole range is under ~1e-4 loses
# resolution). Without it, last-place differences between machines' floating-point
# libraries (the rolling spread of a flat stretch is 0 on one, ~1e-8 on another: a square
# root of rounding error) change the model's bins and split ties, and with them which alerts
# fire: on a NAB file with 9 alerts, 1e-15 relative changes to its values changed 2-9 alert
# rows (docs/evaluation.md).
DECIMALS = 6
PARAMS = {
    "objective": "huber",
    "learning_rate": 0.1,
    "num_leaves": 15,
    "min_data_in_leaf": 20,
    "seed": 7,
}


@dataclass(frozen=True)
class DetectorSettings:
    warmup: int = 120  # rows before any alert: enough to estimate a spread
    min_history: int = 100  # samples before a rolling statistic counts
    first_fit: int = 400  # score_causally: rows before the series' first own model
    residual_window: int = 400  # past residuals that normalise the current one
    surprise_window: int = 5  # recent normalised residuals averaged
    surprise_history: int = 1000  # past rows whose mean and spread they are compared with
    surprise_threshold: float = 10.0  # standard errors above the past mean
    shape_length: int = 24  # rows in one shape
    novelty_record: int = 1000  # rows whose largest nearest-shape distance is the record
    novelty_history: int = 1000  # how far back a similar shape is looked for
    novelty_threshold: float = 0.55  # d / (d + record): 22 % beyond the recent record
    novelty_min_candidates: int = 200  # earlier shapes searched before a d counts in a record
    range_history: int = 2000  # rows whose range a value must leave
    range_tolerance: float = 0.05  # beyond the range by 5 % of its width (HTM's NAB setting)
    suppress_hours: float = 8.0  # an alert silences the next ones of its burst this long
    flat_hours: float = 4.0  # a repeated value alerts from this long, and from 3 times the
    flat_factor: float = 3.0  # longest run of one value in the last `range_history` rows
    rounds: int = 80
    training_rows: int = 500_000  # fit() subsamples the pooled rows to this many
    threads: int = DEFAULT_THREADS

    def memory(self, period: int) -> int:
        """Rows before row i that its signals read, for `period` rows per day."""
        surprise = self.residual_window + self.surprise_history + self.surprise_window + period + 8
        novelty = self.novelty_history + self.novelty_record + 2 * self.shape_length
        return max(surprise, novelty, self.range_history) + self.suppress_rows(period) + 1

    def suppress_rows(self, period: int) -> int:
        return max(1, round(self.suppress_hours * period / 24))

    def flat_rows(self, period: int) -> int:
        return max(3, round(self.flat_hours * period / 24))


@dataclass(frozen=True)
class Scored:
    """One series, row by row."""

    score: np.ndarray  # in [0, 1]
    signal: np.ndarray  # name of the signal with the largest ratio
    is_anomaly: np.ndarray


def rows_per_day(timestamps: np.ndarray) -> int:
    """Rows per day from the typical sampling step (at least 2, at most 2000)."""
    steps = np.diff(timestamps.astype("datetime64[s]").astype(np.int64))
    step = float(np.median(steps)) if steps.size else 3600.0
    return int(min(2000, max(2, round(86400 / max(step, 1.0)))))


def series_features(values: np.ndarray, timestamps: np.ndarray) -> np.ndarray:
    """Features for row i from rows < i (lags, rolling statistics, same time yesterday)
    and from row i's own timestamp (hour, day of week); columns in `FEATURES` order."""
    timestamps = timestamps.astype("datetime64[us]")
    z = symlog(values.astype(np.float64))
    period = rows_per_day(timestamps)
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
    return np.round(np.column_stack([columns[n] for n in FEATURES]).astype(np.float64), DECIMALS)


def one_step_target(values: np.ndarray) -> np.ndarray:
    """The change of symlog(value) from the previous row; NaN on the first."""
    z = symlog(values.astype(np.float64))
    return np.round(z - np.concatenate([[np.nan], z[:-1]]), DECIMALS)


def fit(series: Sequence[tuple[np.ndarray, np.ndarray]], settings: DetectorSettings):
    """One one-step model pooled over `(values, timestamps)` series (-> lightgbm.Booster).
    Scale-free: the target and every level are in symlog space."""
    parts = [_training_rows(series_features(v, t), one_step_target(v)) for v, t in series]
    X, y = np.vstack([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    keep = subsample_indices(y.size, settings.training_rows, int(PARAMS["seed"]))
    return _fit_rows(X[keep], y[keep], settings)


def _training_rows(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ok = ~np.isnan(y)
    return X[ok], y[ok]


def _fit_rows(X: np.ndarray, y: np.ndarray, settings: DetectorSettings):
    least = 2 * int(PARAMS["min_data_in_leaf"])
    if y.size < least:
        raise ValueError(f"anomaly detector: {y.size} training rows, need at least {least}")
    return fit_booster(X, y, PARAMS, settings.rounds, list(FEATURES), settings.threads)


def residuals(values: np.ndarray, timestamps: np.ndarray, booster, threads: int) -> np.ndarray:
    """One-step residuals in symlog space; a None booster expects the last value."""
    return next(residuals_of_many([(values, timestamps)], booster, threads))


def residuals_of_many(
    series: Sequence[tuple[np.ndarray, np.ndarray]], booster, threads: int
) -> Iterator[np.ndarray]:
    """`residuals` of each `(values, timestamps)` series, in order; the model predicts for
    many series in one call (one call per series cost more than the prediction itself)."""
    batch: list[tuple[np.ndarray, np.ndarray]] = []
    rows = 0
    for values, timestamps in series:
        target = one_step_target(values)
        if booster is None:
            yield target
            continue
        batch.append((target, series_features(values, timestamps)))
        rows += values.size
        if rows >= PREDICT_BATCH_ROWS:
            yield from _predicted(batch, booster, threads)
            batch, rows = [], 0
    if batch:
        yield from _predicted(batch, booster, threads)


def _predicted(batch: list[tuple[np.ndarray, np.ndarray]], booster, threads: int):
    predicted = booster.predict(np.vstack([X for _, X in batch]), num_threads=threads)
    ends = np.cumsum([target.size for target, _ in batch])
    for (target, _), part in zip(batch, np.split(predicted, ends[:-1]), strict=True):
        yield target - part


def one_step_error(booster, series: Sequence[tuple[np.ndarray, np.ndarray]], threads: int) -> float:
    """Mean absolute one-step residual over every row of every series (lower is better)."""
    errors = list(residuals_of_many(series, booster, threads))
    pooled = np.concatenate(errors) if errors else np.array([])
    pooled = pooled[~np.isnan(pooled)]
    return mae(pooled, np.zeros_like(pooled)) if pooled.size else float("nan")


def surprise(e: np.ndarray, settings: DetectorSettings) -> np.ndarray:
    """Robust z of each residual against the residuals before it, then the standardised
    excess of the recent mean |z| over its past mean (0 when below it)."""
    e_s = pl.Series(e).fill_nan(None)
    w, least = settings.residual_window, min(30, settings.min_history)
    centre = e_s.shift(1).rolling_median(w, min_samples=least)
    spread = (e_s - centre).abs().shift(1).rolling_median(w, min_samples=least)
    z = ((e_s - centre) / (1.4826 * spread + 1e-9)).abs()
    k = settings.surprise_window
    recent = z.rolling_mean(k, min_samples=1)
    past = z.shift(1)
    mean = past.rolling_mean(settings.surprise_history, min_samples=settings.min_history)
    std = past.rolling_std(settings.surprise_history, min_samples=settings.min_history)
    t = (recent - mean) / (std / np.sqrt(k) + 1e-9)
    return t.fill_nan(None).fill_null(0.0).clip(0.0, None).to_numpy()


def novelty(values: np.ndarray, settings: DetectorSettings, valid_from: int = 0) -> np.ndarray:
    """d / (d + record): d the nearest earlier shape's distance, record the largest d of the
    recent past. 0.5 means "as new as the newest shape of the recent past". Exact from row
    `valid_from` on; earlier rows are not computed (their d is left out of no later record)."""
    m = settings.shape_length
    d = left_neighbour_distance(
        symlog(values.astype(np.float64)),
        m,
        settings.novelty_history,
        start=max(0, valid_from - m - settings.novelty_record),
    )
    # A shape searched among few candidates is far from all of them: such a d would set a
    # record no later shape could beat (in a short series, for most of its length).
    candidates = np.arange(d.size) - 2 * m + 2
    searched = np.where(candidates >= settings.novelty_min_candidates, d, np.nan)
    d_s = pl.Series(d).fill_nan(None)
    record = (
        pl.Series(searched)
        .fill_nan(None)
        .shift(m)
        .rolling_max(settings.novelty_record, min_samples=settings.min_history)
    )
    return (d_s / (d_s + record + 1e-12)).fill_nan(None).fill_null(0.0).to_numpy()


def beyond_range(values: np.ndarray, settings: DetectorSettings) -> np.ndarray:
    """1 + how far a value lies beyond every value of the last `range_history` rows, in units
    of their range, once that is at least `range_tolerance`; 0 otherwise. A trending series
    still sets clear records now and then: `suppress_hours` keeps that to one alert a burst."""
    v = pl.Series(values.astype(np.float64))
    past = v.shift(1)
    high = past.rolling_max(settings.range_history, min_samples=1)
    low = past.rolling_min(settings.range_history, min_samples=1)
    width = (high - low).to_numpy()
    over = np.maximum((v - high).to_numpy(), (low - v).to_numpy())
    excess = np.divide(over, width, out=np.zeros_like(over), where=width > 0)
    beyond = (over > 0) & ((width == 0) | (excess >= settings.range_tolerance))
    return np.nan_to_num(np.where(beyond, 1.0 + excess, 0.0))


def flatline(values: np.ndarray, settings: DetectorSettings, period: int) -> np.ndarray:
    """How many times the current run of one repeated value is as long as it may be: the
    longer of `flat_rows` and `flat_factor` times the longest run that ended in the last
    `range_history` rows before it. 1 and more is a stuck metric; a series that often
    repeats values (counts of rare events, a quantised gauge) sets a high bar for itself."""
    v = pl.Series(values.astype(np.float64))
    run_id = (v != v.shift(1)).fill_null(True).cum_sum()
    run = (pl.int_range(pl.len()).over(run_id) + 1).alias("run")
    length = pl.DataFrame({"run_id": run_id}).select(run)["run"].to_numpy()
    longest = pl.Series(length).rolling_max(settings.range_history, min_samples=1).to_numpy()
    before = np.arange(length.size) - length  # the last row before the current run
    past = np.where(before >= 0, longest[np.maximum(before, 0)], 0)
    allowed = np.maximum(settings.flat_rows(period), settings.flat_factor * past)
    return length / allowed


def signals(
    values: np.ndarray,
    e: np.ndarray,
    settings: DetectorSettings,
    valid_from: int = 0,
    period: int = 24,
) -> dict[str, np.ndarray]:
    """The four signals of every row from `valid_from` on, before thresholds, from the
    values and residuals."""
    return {
        "surprise": surprise(e, settings),
        "novelty": novelty(values, settings, valid_from),
        "beyond_range": beyond_range(values, settings),
        "flatline": flatline(values, settings, period),
    }


def combine(signal: dict[str, np.ndarray], settings: DetectorSettings, period: int) -> Scored:
    """Half the largest signal-to-threshold ratio, in [0, 1], and which signal it was;
    alerts from 0.5 (a signal at its threshold), none in the warm-up."""
    ratios = np.vstack(
        [
            signal["surprise"] / settings.surprise_threshold,
            signal["novelty"] / settings.novelty_threshold,
            signal["beyond_range"],
            signal["flatline"],
        ]
    )
    score = np.clip(ratios.max(axis=0) / 2, 0.0, 1.0)
    score[: settings.warmup] = 0.0
    fired = np.asarray(SIGNALS)[ratios.argmax(axis=0)]
    return Scored(score, fired, alerts(score, settings.suppress_rows(period)))


def alerts(score: np.ndarray, suppress: int) -> np.ndarray:
    """Scores of 0.5 or more that no such score precedes within `suppress` rows: one alert
    per burst. Unlike "one per `suppress` rows since the last alert", this reads a bounded
    past, so a day's alerts never depend on where its history starts."""
    high = pl.Series(score >= 0.5)
    recent = high.shift(1).cast(pl.Int8).rolling_max(suppress, min_samples=1).fill_null(0)
    return (high & (recent == 0)).to_numpy()


def score(
    values: np.ndarray,
    timestamps: np.ndarray,
    booster,
    settings: DetectorSettings,
    first_wanted: int = 0,
    e: np.ndarray | None = None,
) -> Scored:
    """The rows of one series from `first_wanted` on, scored with a fitted model (the
    platform's champion); the rows before are the history those scores read, and their own
    scores are not to be used. `e`: the series' `residuals`, where already computed."""
    period = rows_per_day(timestamps)
    # an alert reads the scores of the rows just before it (one alert per burst)
    valid_from = max(0, first_wanted - settings.suppress_rows(period))
    if e is None:
        e = residuals(values, timestamps, booster, settings.threads)
    return combine(signals(values, e, settings, valid_from, period), settings, period)


def causal_residuals(
    values: np.ndarray, timestamps: np.ndarray, settings: DetectorSettings
) -> np.ndarray:
    """Residuals of models fitted on the series' own past only: the last value before
    `first_fit` rows, then models refitted at row counts that double."""
    target = one_step_target(values)
    out = target.copy()
    X = series_features(values, timestamps)
    points = doubling(values.size, settings.first_fit)
    for k, start in enumerate(points):
        end = points[k + 1] if k + 1 < len(points) else values.size
        booster = _fit_rows(*_training_rows(X[:start], target[:start]), settings)
        out[start:end] = target[start:end] - booster.predict(
            X[start:end], num_threads=settings.threads
        )
    return out


def score_causally(
    values: np.ndarray, timestamps: np.ndarray, settings: DetectorSettings | None = None
) -> Scored:
    """One series with no registered model (`mlplatform detect`): row i uses rows <= i only."""
    settings = settings or DetectorSettings()
    e = causal_residuals(values, timestamps, settings)
    period = rows_per_day(timestamps)
    return combine(signals(values, e, settings, 0, period), settings, period)
