"""Simulated clean hourly metrics straight from the simulator, for benchmarks and tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import polars as pl

from mlplatform.lib.cleaning.metrics import hourly
from mlplatform.lib.ingest.catalog import METRIC_ALIASES
from mlplatform.lib.ingest.simulator import SimulationConfig, simulate


def simulated_hourly(config: SimulationConfig, start: date, days: int) -> pl.DataFrame:
    """The clean hourly table the pipeline would build from `days` of simulated landing files
    (one sample per metric and hour, so no aggregation blurs the values)."""
    hourly_config = replace(config, interval_minutes=60)
    frames = []
    for day in simulate(hourly_config, start, days):
        long = day.metrics.select(
            "resource_id",
            "service",
            "region",
            "namespace",
            ts=pl.col("timestamp"),
            metric=pl.col("metric_name").replace_strict(METRIC_ALIASES),
            value=pl.col("value"),
        )
        frames.append(hourly(long))
    return pl.concat(frames)
