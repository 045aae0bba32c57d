"""Feature set v1 (`features/resource_hourly`, FEATURES.md) and the daily cost features.

A row's features depend only on rows at or before its own timestamp, so a daily partition
computed with `LOOKBACK` of history equals the same rows of the whole table computed at once.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

ROLLING_METRICS = ("cpu_utilization", "memory_utilization", "network_io")
LAG_METRICS = ("request_count", "cpu_utilization")
LAGS_HOURS = (1, 24, 168)
WINDOW_HOURS = 24
TREND_HOURS = 6
LOOKBACK = timedelta(hours=max(LAGS_HOURS))
LOOKBACK_DAYS = math.ceil(LOOKBACK / timedelta(days=1))
# Hours are counted from a fixed origin near the data so the trend's running sums keep digits.
_ORIGIN = datetime(2020, 1, 1, tzinfo=UTC)
_HOUR_US = 3_600_000_000
# Empty slots between two resources on the grid: no window or lag reaches across them.
_PAD = max(LAGS_HOURS)


def _cyclic(name: str, value: pl.Expr, period: int) -> list[pl.Expr]:
    angle = value.cast(pl.Float64) * (2 * math.pi / period)
    return [angle.sin().alias(f"{name}_sin"), angle.cos().alias(f"{name}_cos")]


def time_features() -> list[pl.Expr]:
    # Wall-clock fields of a naive copy: the same in UTC, without per-row time-zone handling.
    ts = pl.col("ts").dt.replace_time_zone(None)
    hour = ts.dt.hour()
    dow = ts.dt.weekday() - 1  # polars: Monday = 1
    month = ts.dt.month()
    return [
        hour.cast(pl.Int8).alias("hour_of_day"),
        dow.cast(pl.Int8).alias("day_of_week"),
        month.cast(pl.Int8).alias("month"),
        (dow >= 5).cast(pl.Int8).alias("is_weekend"),
        ((hour >= 9) & (hour <= 17) & (dow < 5)).cast(pl.Int8).alias("is_business_hour"),
        *_cyclic("hour_of_day", hour, 24),
        *_cyclic("day_of_week", dow, 7),
        *_cyclic("month", month, 12),
    ]


INPUT_COLUMNS: dict[str, type[pl.DataType]] = {
    "resource_id": pl.String,
    "ts": pl.Datetime,
    **{m: pl.Float64 for m in (*ROLLING_METRICS, *LAG_METRICS)},
}


def input_problems(schema: pl.Schema) -> list[str]:
    """What stops a table from being the contract's input, in words (empty when fine)."""
    problems = []
    for name, kind in INPUT_COLUMNS.items():
        if name not in schema:
            problems.append(f"missing column {name!r}")
        elif not isinstance(schema[name], kind) and schema[name] != kind:
            problems.append(f"column {name!r} is {schema[name]}, expected {kind.__name__}")
        elif kind is pl.Datetime and schema[name].time_zone != "UTC":  # type: ignore[union-attr]
            problems.append(f"column 'ts' must be UTC, got time zone {schema[name].time_zone}")  # type: ignore[union-attr]
    return problems


def _statistics(
    m: str,
    *,
    mean: pl.Expr,
    low: pl.Expr,
    high: pl.Expr,
    std: pl.Expr,
    p95: pl.Expr,
    trend: pl.Expr | None = None,
) -> list[pl.Expr]:
    exprs = [
        mean.alias(f"{m}_mean_24h"),
        low.alias(f"{m}_min_24h"),
        high.alias(f"{m}_max_24h"),
        std.alias(f"{m}_std_24h"),
        p95.alias(f"{m}_p95_24h"),
    ]
    return exprs if trend is None else [*exprs, trend.alias(f"{m}_trend_6h")]


def _level_is_flat(slope: pl.Expr, low: pl.Expr, high: pl.Expr) -> pl.Expr:
    """A slope of exactly 0 over a window of equal values, where rounding would leave 1e-17
    (or, from the running sums of values around 1e9, 1e-7)."""
    return pl.when(slope.is_not_null() & (low == high)).then(0.0).otherwise(slope)


# General path: time windows over any timestamps, in the contract's own terms. -----------------


def _rolling_by_time(m: str) -> list[pl.Expr]:
    col = pl.col(m)
    by = {"by": "ts", "window_size": f"{WINDOW_HOURS}h"}
    exprs = _statistics(
        m,
        mean=col.rolling_mean_by(**by),
        low=col.rolling_min_by(**by),
        high=col.rolling_max_by(**by),
        std=col.rolling_std_by(**by, min_samples=2),
        p95=col.rolling_quantile_by(quantile=0.95, interpolation="linear", **by),
    )
    return [e.over("resource_id") for e in exprs]


def _centred_slope(m: str) -> pl.Expr:
    """Least-squares slope of one window, from values centred on their means. Running sums
    of x·y over absolute hours (about 50,000) cancel badly: 9.88 instead of 10 at 1e9."""
    y = pl.col(m)
    x = ((pl.col("ts") - pl.lit(_ORIGIN)).dt.total_microseconds() / 3.6e9).filter(y.is_not_null())
    y = y.drop_nulls()
    dx, dy = x - x.mean(), y - y.mean()
    spread = (dx * dx).sum()
    slope = pl.when((y.len() >= 2) & (spread > 0)).then((dx * dy).sum() / spread)
    return _level_is_flat(slope, y.min(), y.max()).alias(f"{m}_trend_6h")


def _by_time(frame: pl.DataFrame) -> pl.DataFrame:
    ordered = frame.lazy().sort("resource_id", "ts")
    # each 6-hour window computed on its own: exact, and windows are short on this path
    trends = ordered.rolling(
        index_column="ts", period=f"{TREND_HOURS}h", group_by="resource_id"
    ).agg(*[_centred_slope(m) for m in ROLLING_METRICS])
    lazy = ordered.with_columns(*[e for m in ROLLING_METRICS for e in _rolling_by_time(m)]).join(
        trends, on=["resource_id", "ts"], how="left", maintain_order="left"
    )
    for hours in LAGS_HOURS:
        lagged = frame.lazy().select(
            "resource_id",
            (pl.col("ts") + pl.duration(hours=hours)).alias("ts"),
            *[pl.col(m).alias(f"{m}_lag_{hours}h") for m in LAG_METRICS],
        )
        lazy = lazy.join(lagged, on=["resource_id", "ts"], how="left", maintain_order="left")
    return lazy.collect()


# Fast path: the clean table is an hourly grid with gaps. -------------------------------------


def _grid_slots(frame: pl.DataFrame) -> pl.Series | None:
    """Each row's slot on a padded hourly grid, or None when the rows are not such a grid.

    Resources follow one another, each behind `_PAD` empty slots, with one slot per hour from
    its first row to its last; fixed-size windows and shifts over the slots then equal the
    contract's time windows and exact-timestamp lags. No sort is needed: rows are scattered
    to their slots and the results gathered back in input order.
    """
    epoch = pl.col("ts").dt.epoch("us")
    if frame.is_empty() or not frame.select((epoch % _HOUR_US == 0).all()).item():
        return None
    hours = frame.select("resource_id", h=epoch // _HOUR_US)
    # maintain_order: the rolling kernels keep running sums over the whole grid, so the order
    # of resources moves the last digits; a fixed order makes re-runs bit-identical
    spans = (
        hours.group_by("resource_id", maintain_order=True)
        .agg(first=pl.col("h").min(), length=pl.col("h").max() - pl.col("h").min() + 1)
        .with_columns(base=(pl.col("length") + _PAD).cum_sum() - pl.col("length"))
    )
    located = hours.join(spans, on="resource_id", how="left", maintain_order="left")
    slot = (located["base"] + located["h"] - located["first"]).alias("slot")
    if slot.n_unique() != slot.len():  # duplicate (resource_id, ts): not a grid
        return None
    return slot


def _trend_on_grid(m: str) -> pl.Expr:
    """The 6-hour slope with x = -5 .. 0 hours inside each window (oldest first): weighted
    window sums of small numbers, where sums over absolute hours would lose digits."""
    present = pl.col(m).is_not_null().cast(pl.Float64)
    y = pl.col(m).fill_null(0.0)
    x = [float(k - TREND_HOURS + 1) for k in range(TREND_HOURS)]

    def total(e: pl.Expr, weights: list[float] | None = None) -> pl.Expr:
        return e.rolling_sum(TREND_HOURS, weights=weights, min_samples=1)

    n, sy = total(present), total(y)
    sx, sxx = total(present, x), total(present, [v * v for v in x])
    sxy = total(y, x)
    denominator = n * sxx - sx * sx
    return pl.when((n >= 2) & (denominator > 0)).then((n * sxy - sx * sy) / denominator)


def _p95_fast(m: str) -> pl.Expr:
    """Rolling p95 by polars' null-free kernel (the null-aware one is several times slower):
    exact for windows without gaps; `_patch_p95` redoes the others."""
    return (
        pl.col(m)
        .fill_null(0.0)
        .rolling_quantile(0.95, interpolation="linear", window_size=WINDOW_HOURS, min_samples=1)
    )


def _patch_p95(p95: pl.Series, values: pl.Series, count: pl.Series) -> pl.Series:
    """p95 over the present values of windows with gaps, sorted explicitly; null where empty."""
    result = p95.to_numpy().copy()
    counts = count.fill_null(0).to_numpy()
    result[counts == 0] = np.nan
    partial = np.flatnonzero((counts > 0) & (counts < WINDOW_HOURS))
    if partial.size:
        padded = np.concatenate([np.full(WINDOW_HOURS - 1, np.nan), values.to_numpy()])
        windows = np.sort(padded[partial[:, None] + np.arange(WINDOW_HOURS)], axis=1)  # NaN last
        n = counts[partial]
        pos = 0.95 * (n - 1)
        low = np.floor(pos).astype(np.int64)
        high = np.minimum(low + 1, n - 1)
        rows = np.arange(partial.size)
        lo_v, hi_v = windows[rows, low], windows[rows, high]
        result[partial] = lo_v + (pos - low) * (hi_v - lo_v)
    return pl.Series(p95.name, result, nan_to_null=True)


def _on_grid(frame: pl.DataFrame, slots: pl.Series) -> pl.DataFrame:
    size = int(slots.max()) + 1  # type: ignore[arg-type]
    columns = dict.fromkeys((*ROLLING_METRICS, *LAG_METRICS))
    dense = pl.DataFrame(
        [
            pl.Series(c, dtype=pl.Float64).extend_constant(None, size).scatter(slots, frame[c])
            for c in columns
        ]
    )
    fixed = {"window_size": WINDOW_HOURS, "min_samples": 1}
    # One select, so polars spreads the kernels over the cores.
    computed = dense.select(
        *[
            e
            for m in ROLLING_METRICS
            for e in _statistics(
                m,
                mean=pl.col(m).rolling_mean(**fixed),
                low=pl.col(m).rolling_min(**fixed),
                high=pl.col(m).rolling_max(**fixed),
                std=pl.col(m).rolling_std(window_size=WINDOW_HOURS, min_samples=2),
                p95=_p95_fast(m),
                trend=_level_is_flat(
                    _trend_on_grid(m),
                    pl.col(m).rolling_min(TREND_HOURS, min_samples=1),
                    pl.col(m).rolling_max(TREND_HOURS, min_samples=1),
                ),
            )
        ],
        *[
            pl.col(m).is_not_null().cast(pl.Int32).rolling_sum(**fixed).alias(f"_{m}_count")
            for m in ROLLING_METRICS
        ],
        *[
            pl.col(m).shift(hours).alias(f"{m}_lag_{hours}h")
            for hours in LAGS_HOURS
            for m in LAG_METRICS
        ],
    )
    computed = computed.with_columns(
        _patch_p95(computed[f"{m}_p95_24h"], dense[m], computed[f"_{m}_count"])
        for m in ROLLING_METRICS
    ).drop(f"_{m}_count" for m in ROLLING_METRICS)
    return frame.hstack(computed[slots])


def _exact_constant_windows() -> list[pl.Expr]:
    """Mean and std of a window whose values are all equal, exactly (the value and 0).
    Running-sum kernels leave a residue of the values that left the window, so a resource
    idle at 0 after a busy hour would get a volatility of 0, -0 or 1e16 instead of null."""
    exprs = []
    for m in ROLLING_METRICS:
        low, high = pl.col(f"{m}_min_24h"), pl.col(f"{m}_max_24h")
        constant = low == high
        std = pl.col(f"{m}_std_24h")
        exprs += [
            pl.when(constant).then(low).otherwise(pl.col(f"{m}_mean_24h")).alias(f"{m}_mean_24h"),
            pl.when(constant & std.is_not_null()).then(0.0).otherwise(std).alias(f"{m}_std_24h"),
        ]
    return exprs


def resource_hourly_features(hourly: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    """Every input row and column, in input order, plus the v1 features.

    The clean table is an hourly grid with gaps, so the fast path lays it on a padded grid of
    hourly slots and uses fixed 24- and 6-slot windows and shifts. Any other input takes the
    general time-window path; tests hold both to the same contract.
    """
    frame = hourly.lazy().collect()
    slots = _grid_slots(frame)
    frame = _on_grid(frame, slots) if slots is not None else _by_time(frame)
    return frame.with_columns(*_exact_constant_windows()).with_columns(
        *time_features(),
        *[
            pl.when(pl.col(f"{m}_mean_24h") != 0)
            .then(pl.col(f"{m}_std_24h") / pl.col(f"{m}_mean_24h"))
            .alias(f"{m}_volatility_24h")
            for m in ROLLING_METRICS
        ],
        (pl.col("cpu_utilization") / (pl.col("memory_utilization") + 1e-6)).alias(
            "cpu_memory_ratio"
        ),
        ((pl.col("cpu_utilization") + pl.col("memory_utilization")) / 2).alias(
            "resource_efficiency"
        ),
    )


def feature_sources(input_columns: list[str], output_columns: list[str]) -> dict[str, list[str]]:
    """Column lineage of the feature set: the input columns each output column is built from."""
    time_columns = {"hour_of_day", "day_of_week", "month", "is_weekend", "is_business_hour"}
    sources: dict[str, list[str]] = {}
    for column in output_columns:
        if column in input_columns:
            sources[column] = [column]
        elif column in ("cpu_memory_ratio", "resource_efficiency"):
            sources[column] = ["cpu_utilization", "memory_utilization"]
        elif (
            column in time_columns
            or column.removesuffix("_sin").removesuffix("_cos") in time_columns
        ):
            sources[column] = ["ts"]
        else:
            metric = next(m for m in (*ROLLING_METRICS, *LAG_METRICS) if column.startswith(m))
            sources[column] = [metric, "ts", "resource_id"]
    return sources


def features_for_day(hourly_with_lookback: pl.DataFrame, day: date) -> pl.DataFrame:
    """The features of `day`'s rows, from a table holding that day and `LOOKBACK` before it."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    window = hourly_with_lookback.filter(
        (pl.col("ts") >= start - LOOKBACK) & (pl.col("ts") < start + timedelta(days=1))
    )
    return resource_hourly_features(window).filter(pl.col("ts") >= start)


# Cost features -------------------------------------------------------------------------------

COST_LAGS_DAYS = (1, 7, 14)
COST_WINDOWS_DAYS = (7, 28)
COST_LOOKBACK_DAYS = max(*COST_LAGS_DAYS, *COST_WINDOWS_DAYS)
COST_SERIES = ["sub_account_id", "service_name", "billing_currency"]


def cost_daily_features(cost_daily: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """Daily spend per account and service with calendar features, lags and rolling spend."""
    series = (
        cost_daily.lazy()
        .group_by(*COST_SERIES, "date")
        .agg(pl.col("billed_cost").sum(), pl.col("effective_cost").sum())
        .sort(*COST_SERIES, "date")
        .with_columns(_ts=pl.col("date").cast(pl.Datetime("us")))
    )
    dow = pl.col("date").dt.weekday() - 1
    lags = series
    for d in COST_LAGS_DAYS:
        lagged = series.select(
            *COST_SERIES,
            (pl.col("date") + pl.duration(days=d)).alias("date"),
            pl.col("billed_cost").alias(f"billed_cost_lag_{d}d"),
        )
        lags = lags.join(lagged, on=[*COST_SERIES, "date"], how="left")
    rolling = [
        e.over(COST_SERIES)
        for w in COST_WINDOWS_DAYS
        for e in (
            pl.col("billed_cost").rolling_mean_by("_ts", f"{w}d").alias(f"billed_cost_mean_{w}d"),
            pl.col("billed_cost").rolling_sum_by("_ts", f"{w}d").alias(f"billed_cost_sum_{w}d"),
        )
    ]
    return (
        lags.with_columns(
            dow.cast(pl.Int8).alias("day_of_week"),
            pl.col("date").dt.day().cast(pl.Int8).alias("day_of_month"),
            pl.col("date").dt.month().cast(pl.Int8).alias("month"),
            (dow >= 5).cast(pl.Int8).alias("is_weekend"),
            (pl.col("date").dt.month_end() == pl.col("date")).cast(pl.Int8).alias("is_month_end"),
            *rolling,
            pl.col("billed_cost")
            .rolling_std_by("_ts", "7d", min_samples=2)
            .over(COST_SERIES)
            .alias("billed_cost_std_7d"),
        )
        .drop("_ts")
        .sort(*COST_SERIES, "date")
    )  # the joins keep no order: the same rows every run


def cost_features_for_day(cost_with_lookback: pl.DataFrame, day: date) -> pl.DataFrame:
    start = day - timedelta(days=COST_LOOKBACK_DAYS)
    window = cost_with_lookback.lazy().filter(pl.col("date").is_between(start, day))
    return cost_daily_features(window).filter(pl.col("date") == day).collect()
