"""What a local deployment has built: which daily tables are missing which days."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

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
    "serving/anomaly_incidents",
    "serving/cost_recommendations",
    "monitoring/model_performance",
    "monitoring/feature_drift",
)


def missing_partitions(
    lake: Path, days: Sequence[str], tables: Sequence[str] = DAILY_TABLES
) -> list[str]:
    """`table/day` for every day a table has no Parquet file for, upstream tables first."""
    return [f"{t}/{d}" for t in tables for d in days if not (lake / t / f"{d}.parquet").exists()]


def layer_progress(lake: Path, days: Sequence[str]) -> list[tuple[str, int, int]]:
    """(layer, partitions built, partitions wanted) for each layer's daily tables, upstream
    first."""
    progress: dict[str, list[int]] = {}
    for table in DAILY_TABLES:
        counts = progress.setdefault(table.split("/")[0], [0, 0])
        counts[0] += sum((lake / table / f"{day}.parquet").exists() for day in days)
        counts[1] += len(days)
    return [(layer, built, wanted) for layer, (built, wanted) in progress.items()]


@dataclass(frozen=True)
class BuiltTable:
    table: str
    days: int  # of the days asked about, those with a file
    rows: int


def built_tables(
    lake: Path, days: Sequence[str], tables: Sequence[str] = DAILY_TABLES
) -> list[BuiltTable]:
    """How many of `days` each table has and their rows, read from the files' metadata."""
    result = []
    for table in tables:
        files = [f for day in days if (f := lake / table / f"{day}.parquet").exists()]
        rows = sum(pl.scan_parquet(f).select(pl.len()).collect().item() for f in files)
        result.append(BuiltTable(table, len(files), rows))
    return result


MODELS = ("demand_forecaster", "cost_forecaster", "anomaly_detector")


def untrained_models(data: Path) -> list[str]:
    """The models of a local deployment under `data` with no trained version yet: neither a
    champion nor a challenger (one refused for not beating naive has been trained)."""
    if not (data / "mlflow.db").exists():
        return list(MODELS)
    from mlplatform.lib.models.registry import CHALLENGER, CHAMPION, Registry

    registry = Registry(f"sqlite:///{data / 'mlflow.db'}", str(data / "models"))
    return [
        m
        for m in MODELS
        if registry.by_alias(m, CHAMPION) is None and registry.by_alias(m, CHALLENGER) is None
    ]


def not_built(data: Path, days: Sequence[str]) -> list[str]:
    """What a local deployment under `data` still lacks for `days`: partitions of every daily
    table, the last day's drift report, then a trained version of each model (a champion, or
    a challenger refused for not beating naive); empty when caught up."""
    missing = missing_partitions(data / "lake", days)
    if not (data / "reports" / "feature_drift" / f"{days[-1]}.html").exists():
        missing.append(f"the drift report of {days[-1]}")
    if missing:  # the registry is the last thing to look at, and the dearest
        return missing
    if not (data / "mlflow.db").exists():
        return ["the model registry"]
    return [f"a trained {m}" for m in untrained_models(data)]
