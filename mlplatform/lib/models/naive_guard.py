"""A naive forecast where the model has fallen behind, for a `ForecastSpec` with a guard:
`mlplatform forecast`'s. (The platform's demand forecaster has none: on simulated deployments
and a live one it made the served forecasts worse; docs/evaluation.md.)

A model is refitted at intervals; when a series changes between two fits (a new job, a level
shift), a naive forecast follows at once and the model does not. So at each origin and
horizon, where a naive forecast's MAE over the last day's known targets was below `margin`
times the model's own, that naive forecast (the one with the lowest) is given instead."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class NaiveGuard:
    # Chosen on the development files and their 1,000- and 2,500-row cuts (docs/evaluation.md).
    days: float = 1.0
    margin: float = 0.8


def guarded(
    frame: pl.DataFrame,
    series: tuple[str, ...],
    position: str,
    offset: pl.Expr,
    naive: dict[str, str],
    model: str,
    window: str,
    least: int,
    margin: float,
) -> pl.DataFrame:
    """`frame` (one row per series, origin and horizon) with `forecast` replaced by the naive
    forecast with the lowest MAE where that was below `margin` times the forecast's own, and
    `forecast_by` naming what made each forecast: `model`, or the label of the naive one.

    Columns: `series`, `position` (the origin: a time, or a row number for a `window` of
    "<n>i"), `horizon`, `forecast`, the columns `naive` maps labels to (the first, the
    simplest, wins ties) and `_y_future` (the value at the target; null where unknown);
    `offset` is the target's position minus the origin's. An error counts at origin t once its
    target is known there: the MAEs are over the origins in (t - offset - window, t - offset],
    and each needs `least` errors. Causal: a row reads no value after its own origin."""
    keys = [*series, "horizon"]
    columns = {"_model": "forecast", **{f"_naive{i}": c for i, c in enumerate(naive.values())}}
    labels = dict(zip(list(columns)[1:], naive, strict=True))
    rolling = frame.sort(*keys, position).select(
        *keys,
        (pl.col(position) + offset).alias("_judged_at"),
        *(
            _known_mean((pl.col("_y_future") - pl.col(c)).abs(), position, window, least)
            .over(keys)
            .alias(m)
            for m, c in columns.items()
        ),
    )
    means = frame.join(
        rolling,
        left_on=[*keys, position],
        right_on=[*keys, "_judged_at"],
        how="left",
        maintain_order="left",
    )
    lowest = pl.min_horizontal(*labels)
    picked = pl.coalesce(
        pl.when(pl.col(m) == lowest).then(pl.lit(label)) for m, label in labels.items()
    )
    chosen = pl.coalesce(pl.when(picked == label).then(pl.col(naive[label])) for label in naive)
    better = (lowest < margin * pl.col("_model")) & chosen.is_not_null()
    return means.with_columns(
        forecast=pl.when(better).then(chosen).otherwise(pl.col("forecast")),
        forecast_by=pl.when(better).then(picked).otherwise(pl.lit(model)),
    ).drop(*columns)


def _known_mean(error: pl.Expr, position: str, window: str, least: int) -> pl.Expr:
    """The mean of `error` over the last `window` of `position`, null under `least` values."""
    total = error.fill_null(0.0).rolling_sum_by(position, window_size=window)
    count = error.is_not_null().cast(pl.Int64).rolling_sum_by(position, window_size=window)
    return pl.when(count >= least).then(total / count)
