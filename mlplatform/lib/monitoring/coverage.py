"""What a local deployment has built: which daily tables are missing which days."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

# Every daily-partitioned table of the lake, upstream first.
DAILY_TABLES = (
    "raw/cloudwatch_metrics",
    "raw/cost_usage",
    "clean/metrics_hourly",
    "clean/other_metrics_hourly",
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


MODELS = ("demand_forecaster", "cost_forecaster", "anomaly_detector")


def not_built(data: Path, days: Sequence[str]) -> list[str]:
    """What a local deployment under `data` still lacks for `days`: partitions of every daily
    table, the last day's drift report, then a trained version of each model (a champion, or
    a challenger refused for not beating naive); empty when caught up."""
    from mlplatform.lib.models.registry import CHALLENGER, CHAMPION, Registry

    missing = missing_partitions(data / "lake", days)
    if not (data / "reports" / "feature_drift" / f"{days[-1]}.html").exists():
        missing.append(f"the drift report of {days[-1]}")
    if missing:  # the registry is the last thing to look at, and the dearest
        return missing
    if not (data / "mlflow.db").exists():
        return ["the model registry"]
    registry = Registry(f"sqlite:///{data / 'mlflow.db'}", str(data / "models"))
    return [
        f"a trained {m}"
        for m in MODELS
        if registry.by_alias(m, CHAMPION) is None and registry.by_alias(m, CHALLENGER) is None
    ]
