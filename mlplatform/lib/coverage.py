"""What a local deployment has built: which daily tables are missing which days."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

# Every daily-partitioned table of the lake, upstream first.
DAILY_TABLES = (
    "raw/cloudwatch_metrics",
    "raw/cost_usage",
    "clean/metrics_hourly",
    "clean/cost_daily",
    "clean/quarantine",
    "features/resource_hourly",
    "features/cost_daily",
    "serving/demand_forecasts",
    "serving/cost_forecasts",
    "serving/anomaly_alerts",
    "serving/cost_recommendations",
    "monitoring/model_performance",
    "monitoring/feature_drift",
)


def missing_partitions(
    lake: Path, days: Sequence[str], tables: Sequence[str] = DAILY_TABLES
) -> list[str]:
    """`table/day` for every day a table has no Parquet file for, upstream tables first."""
    return [f"{t}/{d}" for t in tables for d in days if not (lake / t / f"{d}.parquet").exists()]
