"""Direct multi-horizon forecasters (demand per resource, cost per account and service).

One LightGBM model serves every horizon: each training row is (features at t, horizon h) and
its target is the change of symlog(y) from t to t + h, so one model fits series of any scale.
Forecasts map back as symlog⁻¹(symlog(y_t) + prediction).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import polars as pl

from mlplatform.lib.models.naive_guard import NaiveGuard, guarded
from mlplatform.lib.models.training import (
    DEFAULT_THREADS,
    SearchBudget,
    expanding_folds,
    fit_booster,
    forecast_metrics,
    mae,
    naive_forecast,
    search,
    subsample_indices,
)


def symlog(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


def symexp(z: np.ndarray) -> np.ndarray:
    return np.sign(z) * np.expm1(np.abs(z))


@dataclass(frozen=True)
class ForecastSpec:
    """What a forecaster predicts and from which table."""

    name: str
    series: tuple[str, ...]  # columns naming one series
    time: str  # the time column
    target: str
    horizons: tuple[int, ...]
    step: str  # polars duration of one step: "1h", "1d", "5m"
    baselines: dict[str, int]  # name -> how many steps back from t + h the naive value is
    exclude: tuple[str, ...] = ()  # non-feature columns besides identifiers
    # Steps counted in rows of each series rather than in `step`s of time: for a series whose
    # samples are not evenly spaced, "h ahead" is the h-th next sample (`step` then only
    # places the target's calendar features).
    by_row: bool = False
    # The target's mean over the last k rows against its current level: what a noisy series
    # reverts to, which the last value and its momentum do not tell.
    level_rows: tuple[int, ...] = ()
    # Give a naive forecast where it has been clearly better than the model lately.
    guard: NaiveGuard | None = None


DEMAND = ForecastSpec(
    name="demand_forecaster",
    series=("resource_id",),
    time="ts",
    target="request_count",
    horizons=(1, 2, 3, 4),
    step="1h",
    baselines={"same_hour_yesterday": 24, "same_hour_last_week": 168},
    exclude=("service", "region", "namespace", "source_rows"),
    level_rows=(12, 48, 192),
    # No naive guard: on simulated deployments and a live one it made the served forecasts
    # worse (docs/evaluation.md); `mlplatform forecast`, whose models are young, has one.
)

COST = ForecastSpec(
    name="cost_forecaster",
    series=("sub_account_id", "service_name", "billing_currency"),
    time="date",
    target="billed_cost",
    horizons=tuple(range(1, 8)),
    step="1d",
    baselines={"same_day_last_week": 7},
    # no guard: over a day's window a daily series has one origin to judge by, and a week's
    # was never measured on cost data
)


@dataclass
class Dataset:
    frame: pl.DataFrame  # one row per (series, t, horizon), with target and baselines
    features: list[str]
    spec: ForecastSpec

    @property
    def X(self) -> np.ndarray:
        return self.frame.select(self.features).cast(pl.Float64).to_numpy()

    @property
    def y(self) -> np.ndarray:
        return self.frame["_target"].to_numpy()

    @property
    def current(self) -> np.ndarray:
        return self.frame["_current"].to_numpy()


def _step(spec: ForecastSpec, n: int | pl.Expr) -> pl.Expr:
    amount, unit = int(spec.step[:-1]) * n, spec.step[-1]
    if unit == "m":
        return pl.duration(minutes=amount)
    return pl.duration(hours=amount) if unit == "h" else pl.duration(days=amount)


def _position(spec: ForecastSpec) -> str:
    """The column steps are counted on: the time, or each series' row number."""
    return "_row" if spec.by_row else spec.time


def _ahead(spec: ForecastSpec, n: int | pl.Expr) -> pl.Expr:
    if spec.by_row:
        return pl.col("_row") + n
    return pl.col(spec.time) + _step(spec, n)


def feature_names(frame: pl.DataFrame, spec: ForecastSpec) -> list[str]:
    skip = {*spec.series, spec.time, *spec.exclude}
    numeric = [c for c, t in frame.schema.items() if c not in skip and t.is_numeric()]
    analogs = [f"{kind}_{name}" for name in spec.baselines for kind in ("analog", "gap")]
    return [*numeric, "horizon", "target_hour", "target_day_of_week", *analogs]


MOMENTUM_ROWS = (1, 2, 4, 8)  # the target's own recent change, whatever the resolution


def _symlog_expr(column: str) -> pl.Expr:
    c = pl.col(column).cast(pl.Float64)
    return c.sign() * c.abs().log1p()


def build_dataset(table: pl.DataFrame, spec: ForecastSpec, with_target: bool = True) -> Dataset:
    """Rows of `table` (a feature table) crossed with the horizons.

    With `with_target`, rows whose target (y at t + h) is unknown are dropped; without it
    every row stays (for scoring the future)."""
    level = _symlog_expr(spec.target)
    table = table.sort(*spec.series, spec.time).with_columns(
        _row=pl.int_range(pl.len()).over(spec.series),
        **{f"change_{k}_rows": level - level.shift(k).over(spec.series) for k in MOMENTUM_ROWS},
        **{
            f"level_{k}_rows": level.rolling_mean(k, min_samples=1).over(spec.series) - level
            for k in spec.level_rows
        },
    )
    position = _position(spec)
    values = table.select(*spec.series, position, pl.col(spec.target).alias("_y"))
    parts = []
    for h in spec.horizons:
        part = table.with_columns(
            horizon=pl.lit(h, dtype=pl.Int32),
            _target_time=pl.col(spec.time) + _step(spec, h),
            _target_position=_ahead(spec, h),
        )
        future = values.rename({position: "_target_position", "_y": "_y_future"})
        part = part.join(future, on=[*spec.series, "_target_position"], how="left")
        for name, back in spec.baselines.items():
            past = (
                values.with_columns(_ahead(spec, back).alias("_target_position"))
                .rename({"_y": f"_baseline_{name}"})
                .drop(position)
            )
            part = part.join(past, on=[*spec.series, "_target_position"], how="left")
            # The season's own change from the origin's analog to the target's (what the
            # same h did a day or a week ago), and how far the target's analog is from now.
            origin_analog = values.with_columns(_ahead(spec, back).alias("_position_now")).select(
                *spec.series, "_position_now", pl.col("_y").alias("_origin_analog")
            )
            part = (
                part.join(
                    origin_analog,
                    left_on=[*spec.series, position],
                    right_on=[*spec.series, "_position_now"],
                    how="left",
                )
                .with_columns(
                    (_symlog_expr(f"_baseline_{name}") - _symlog_expr("_origin_analog")).alias(
                        f"analog_{name}"
                    ),
                    (_symlog_expr(f"_baseline_{name}") - _symlog_expr(spec.target)).alias(
                        f"gap_{name}"
                    ),
                )
                .drop("_origin_analog")
            )
        parts.append(part.drop("_target_position"))
    target_time = pl.col("_target_time").cast(pl.Datetime)
    frame = pl.concat(parts, how="diagonal_relaxed").with_columns(
        # fractional: at 30- or 5-minute steps the hour alone would merge distinct targets
        target_hour=target_time.dt.hour().cast(pl.Float64) + target_time.dt.minute() / 60,
        target_day_of_week=(target_time.dt.weekday() - 1).cast(pl.Int8),
        _current=pl.col(spec.target),
        _baseline_last_value=pl.col(spec.target),
    )
    frame = frame.filter(pl.col("_current").is_not_null())
    if with_target:
        frame = frame.filter(pl.col("_y_future").is_not_null())
        frame = frame.with_columns(
            _target=pl.Series(
                symlog(frame["_y_future"].to_numpy()) - symlog(frame["_current"].to_numpy())
            )
        )
    frame = frame.sort(spec.time, *spec.series, "horizon")
    return Dataset(frame, feature_names(table.drop("_row", strict=False), spec), spec)


def predict(booster, dataset: Dataset, threads: int = DEFAULT_THREADS) -> np.ndarray:
    """Forecasts on the original scale."""
    change = booster.predict(dataset.X, num_threads=threads)
    return symexp(symlog(dataset.current) + change)


def baselines(dataset: Dataset) -> dict[str, np.ndarray]:
    names = ["last_value", *dataset.spec.baselines]
    return {
        n: dataset.frame[f"_baseline_{n}"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        for n in names
    }


@dataclass
class TrainedForecaster:
    booster: Any
    features: list[str]
    params: dict[str, Any]
    rounds: int
    metrics: dict[str, Any]
    evaluation_start: datetime | Any
    search_trials: int
    search_seconds: float


def _times(dataset: Dataset, column: str) -> np.ndarray:
    return dataset.frame[column].cast(pl.Datetime("us")).dt.epoch("us").to_numpy()


def train(dataset: Dataset, budget: SearchBudget, eval_fraction: float = 0.15) -> TrainedForecaster:
    """Search on time-ordered folds, then fit on everything before the most recent
    `eval_fraction` of time and report metrics on that unseen, most recent block."""
    if dataset.frame.is_empty():
        raise ValueError(f"{dataset.spec.name}: no training rows (is there enough history?)")
    feature_time = _times(dataset, dataset.spec.time)
    target_time = _times(dataset, "_target_time")
    times = np.unique(feature_time)
    eval_start = times[int(len(times) * (1 - eval_fraction))]
    fit_rows = np.flatnonzero(target_time < eval_start)
    eval_rows = np.flatnonzero(feature_time >= eval_start)
    if fit_rows.size == 0 or eval_rows.size == 0:
        raise ValueError(f"{dataset.spec.name}: too little history to hold out recent data")

    X, y, current = dataset.X, dataset.y, dataset.current
    sample = fit_rows[subsample_indices(fit_rows.size, budget.search_rows, budget.seed)]
    folds = expanding_folds(feature_time[sample], target_time[sample], budget.folds)

    def score(rows: np.ndarray, y_true: np.ndarray, pred: np.ndarray) -> float:
        base = symlog(current[sample][rows])
        return mae(symexp(base + y_true), symexp(base + pred))

    found = search(X[sample], y[sample], folds, dataset.features, budget, score)
    booster = fit_booster(
        X[fit_rows], y[fit_rows], found.params, found.rounds, dataset.features, budget.threads
    )
    holdout = Dataset(dataset.frame[eval_rows], dataset.features, dataset.spec)
    metrics = evaluate(booster, holdout)
    metrics |= {
        "cv_mae": found.cv_mae,
        "training_rows": int(fit_rows.size),
        "evaluation_rows": int(eval_rows.size),
    }
    return TrainedForecaster(
        booster,
        dataset.features,
        found.params,
        found.rounds,
        metrics,
        int(eval_start),
        found.trials,
        found.seconds,
    )


def evaluate(booster, dataset: Dataset) -> dict[str, Any]:
    truth = dataset.frame["_y_future"].to_numpy()
    return forecast_metrics(truth, predict(booster, dataset), baselines(dataset))


def lookback_days(spec: ForecastSpec) -> int:
    """Days before an origin its model inputs read beyond the feature table's own row: the
    seasonal analogs, the momentum and the recent level. Serving and monitoring read that
    much history."""
    analogs = max(spec.baselines.values(), default=0) + max(MOMENTUM_ROWS)
    reach = max((analogs, *spec.level_rows))
    return _days_spanned(spec, reach) + 1


def due_lookback_days(spec: ForecastSpec) -> int:
    """Days before a day that `due_dataset` reads: the inputs of its longest forecast."""
    return lookback_days(spec) + _days_spanned(spec, max(spec.horizons))


def serving_lookback_days(spec: ForecastSpec) -> int:
    """Days before a served day that serving reads: the inputs, and for a spec with a naive
    guard the forecasts of the day before that it judges the model by."""
    return lookback_days(spec) + guard_days(spec)


def _days_spanned(spec: ForecastSpec, steps: int) -> int:
    return math.ceil(_step_minutes(spec) * steps / (24 * 60))


def _step_minutes(spec: ForecastSpec) -> int:
    return {"m": 1, "h": 60, "d": 24 * 60}[spec.step[-1]] * int(spec.step[:-1])


def _origin_day(spec: ForecastSpec) -> pl.Expr:
    return pl.col(spec.time).cast(pl.Datetime("us", "UTC")).dt.date()


def forecast_tables(
    spec: ForecastSpec, history: pl.DataFrame, days: list[date], booster, version: str
) -> dict[date, pl.DataFrame]:
    """Every horizon's forecast from every row of each day in `days`, from a feature table
    holding those days and `serving_lookback_days(spec)` before them: series, origin, horizon,
    target time, forecast, what made it (`forecast_by`: `version`, or the naive forecast that
    the spec's guard put in its place) and the model version in force."""

    def by_model(dataset: Dataset) -> np.ndarray:
        return predict(booster, Dataset(dataset.frame, booster.feature_name(), spec))

    return _tables(spec, history, days, by_model, version, guard=True)


NAIVE = "naive"  # the model_version prefix of forecasts no model made


def naive_forecast_tables(
    spec: ForecastSpec, history: pl.DataFrame, days: list[date], baseline: str
) -> dict[date, pl.DataFrame]:
    """`forecast_tables` by the naive forecast `baseline` ("last_value" or one of the spec's
    seasonal baselines; the last value where a series is younger than its season), for when
    no model has beaten it. Rows name `naive/<baseline>` as their model version and maker."""
    if baseline not in ("last_value", *spec.baselines):
        raise ValueError(f"{spec.name} has no naive baseline {baseline!r}")

    def by_baseline(dataset: Dataset) -> np.ndarray:
        return naive_forecast(baselines(dataset), baseline)

    return _tables(spec, history, days, by_baseline, f"{NAIVE}/{baseline}")


def _tables(
    spec: ForecastSpec,
    history: pl.DataFrame,
    days: list[date],
    forecaster: Callable[[Dataset], np.ndarray],
    version: str,
    guard: bool = False,
) -> dict[date, pl.DataFrame]:
    """With `guard` and a spec that has one, forecasts are also made for the days before
    `days` that the guard judges the model by (`guard_days`), from `history` that holds them."""
    steps = guard_steps(spec) if guard else 0
    first = min(days) - timedelta(days=guard_days(spec) if steps else 0)
    since = first - timedelta(days=lookback_days(spec))
    span = history.filter(_origin_day(spec).is_between(since, max(days)))
    dataset = build_dataset(span, spec, with_target=False)
    dataset.frame = dataset.frame.filter(_origin_day(spec).is_between(first, max(days)))
    frame = dataset.frame.with_columns(forecast=pl.Series(forecaster(dataset), dtype=pl.Float64))
    frame = (
        guarded_forecasts(frame, spec, steps, version)
        if steps
        else frame.with_columns(forecast_by=pl.lit(version))
    )
    table = frame.filter(_origin_day(spec).is_in(days)).select(
        *spec.series,
        pl.col(spec.time).alias("origin"),
        "horizon",
        pl.col("_target_time").alias("target_time"),
        "forecast",
        "forecast_by",
        model_version=pl.lit(version),
        _day=_origin_day(spec),
    )
    return {day: table.filter(pl.col("_day") == day).drop("_day") for day in days}


def guard_steps(spec: ForecastSpec) -> int:
    """The guard's window in the spec's steps (0: the spec has no guard)."""
    if spec.guard is None:
        return 0
    return max(1, round(spec.guard.days * 24 * 60 / _step_minutes(spec)))


def guard_days(spec: ForecastSpec) -> int:
    """Days before an origin whose forecasts the guard judges the model by: its window, and
    the horizons that make the last of them known."""
    steps = guard_steps(spec)
    return _days_spanned(spec, steps + max(spec.horizons)) if steps else 0


def guarded_forecasts(frame: pl.DataFrame, spec: ForecastSpec, steps: int, by: str) -> pl.DataFrame:
    """`naive_guard.guarded` on a dataset frame that holds each row's `forecast` (made by `by`):
    the spec's naive baselines over the last `steps` steps (rows, for a spec counted in rows),
    named `naive/<baseline>` in `forecast_by`."""
    if spec.guard is None:
        raise ValueError(f"{spec.name} has no naive guard")
    return guarded(
        frame,
        spec.series,
        _position(spec),
        offset=pl.col("horizon") if spec.by_row else _step(spec, pl.col("horizon")),
        naive={f"{NAIVE}/{n}": f"_baseline_{n}" for n in ("last_value", *spec.baselines)},
        model=by,
        window=f"{steps}i" if spec.by_row else f"{_step_minutes(spec) * steps}m",
        least=max(1, steps // 4),
        margin=spec.guard.margin,
    )


def due_dataset(spec: ForecastSpec, history: pl.DataFrame, day: date) -> Dataset:
    """The forecasts made before `day` whose actuals fall on it (for a daily series, the
    1..7-day forecasts of the week before), with their inputs from `history` (the day and
    `due_lookback_days(spec)` before it)."""
    since = day - timedelta(days=due_lookback_days(spec))
    known = history.filter(_origin_day(spec).is_between(since, day))
    dataset = build_dataset(known, spec)
    due = pl.col("_target_time").cast(pl.Datetime("us", "UTC")).dt.date() == day
    dataset.frame = dataset.frame.filter(due & (_origin_day(spec) < day))
    return dataset


def day_dataset(spec: ForecastSpec, history: pl.DataFrame, day: date) -> Dataset:
    """The forecasts from `day`'s rows whose actuals fall within that day, with their inputs
    from `history` (the day and `lookback_days(spec)` before it)."""
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
    since = day - timedelta(days=lookback_days(spec))
    known = history.filter(_origin_day(spec).is_between(since, day))
    dataset = build_dataset(known, spec)
    dataset.frame = dataset.frame.filter(
        (_origin_day(spec) == day) & (pl.col("_target_time").cast(pl.Datetime("us", "UTC")) < end)
    )
    return dataset
