"""Rightsizing: resources whose CPU stays low all day and whose forecast demand does not
rise, with the monthly saving of moving one instance size down (about half the price)."""

from __future__ import annotations

import polars as pl

LOW_CPU_P95 = 20.0  # percent
DOWNSIZE_SAVING = 0.5  # one size down in a family halves the hourly price
DAYS_PER_MONTH = 30.0


def rightsizing(
    features: pl.DataFrame, forecasts: pl.DataFrame, cost: pl.DataFrame
) -> pl.DataFrame:
    """One row per resource worth downsizing: its peak p95 CPU, observed and forecast peak
    requests, daily compute cost and expected monthly saving."""
    usage = features.group_by("resource_id").agg(
        peak_cpu_p95=pl.col("cpu_utilization_p95_24h").max(),
        observed_peak_requests=pl.col("request_count").max(),
    )
    ahead = forecasts.group_by("resource_id").agg(forecast_peak_requests=pl.col("forecast").max())
    compute = (
        cost.filter(pl.col("resource_id").is_not_null() & (pl.col("charge_category") == "Usage"))
        .group_by("resource_id")
        .agg(daily_cost=pl.col("effective_cost").sum())
    )
    return (
        usage.join(ahead, on="resource_id", how="left")
        .join(compute, on="resource_id", how="inner")
        .filter(
            (pl.col("peak_cpu_p95") < LOW_CPU_P95)
            & (
                pl.col("forecast_peak_requests").is_null()
                | (pl.col("forecast_peak_requests") <= pl.col("observed_peak_requests") * 1.1)
            )
        )
        .with_columns(
            recommendation=pl.lit("downsize one instance size"),
            monthly_saving=pl.col("daily_cost") * DAYS_PER_MONTH * DOWNSIZE_SAVING,
        )
        .sort("monthly_saving", descending=True)
    )
