from pathlib import Path

import polars as pl

from mlplatform.lib.models.registry import Registry
from mlplatform.lib.monitoring.coverage import (
    DAILY_TABLES,
    BuiltTable,
    built_tables,
    layer_progress,
    missing_partitions,
    not_built,
    untrained_models,
)

DAYS = ["2026-01-01", "2026-01-02"]


def test_missing_partitions_lists_each_table_and_day_without_a_file(tmp_path: Path):
    for table in DAILY_TABLES:
        (tmp_path / table).mkdir(parents=True)
        for day in DAYS:
            (tmp_path / table / f"{day}.parquet").write_bytes(b"PAR1")
    assert missing_partitions(tmp_path, DAYS) == []
    (tmp_path / "features" / "cost_daily" / "2026-01-02.parquet").unlink()
    assert missing_partitions(tmp_path, DAYS) == ["features/cost_daily/2026-01-02"]


def test_not_built_names_the_lake_first_then_the_report_and_the_registry(tmp_path: Path):
    assert not_built(tmp_path, DAYS)[0] == "raw/cloudwatch_metrics/2026-01-01"
    for table in DAILY_TABLES:
        (tmp_path / "lake" / table).mkdir(parents=True)
        for day in DAYS:
            (tmp_path / "lake" / table / f"{day}.parquet").write_bytes(b"PAR1")
    assert not_built(tmp_path, DAYS) == ["the drift report of 2026-01-02"]
    report = tmp_path / "reports" / "feature_drift" / "2026-01-02.html"
    report.parent.mkdir(parents=True)
    report.write_text("<html>")
    assert not_built(tmp_path, DAYS) == ["the model registry"]
    registry = Registry(f"sqlite:///{tmp_path / 'mlflow.db'}", str(tmp_path / "models"))
    # a champion, and a challenger refused for not beating naive: both models are trained
    registry.promote("anomaly_detector", registry.register("anomaly_detector", "m", {}, {}).version)
    registry.register("cost_forecaster", "m", {}, {})
    assert not_built(tmp_path, DAYS) == ["a trained demand_forecaster"]
    registry.register("demand_forecaster", "m", {}, {})
    assert not_built(tmp_path, DAYS) == []


def test_layer_progress_and_built_tables_count_files_and_rows(tmp_path: Path):
    for table, day, rows in [
        ("raw/cloudwatch_metrics", DAYS[0], 3),
        ("raw/cloudwatch_metrics", DAYS[1], 2),
        ("raw/cost_usage", DAYS[1], 0),
        ("clean/quarantine", DAYS[0], 4),
    ]:
        (tmp_path / table).mkdir(parents=True, exist_ok=True)
        pl.DataFrame({"x": list(range(rows))}).write_parquet(tmp_path / table / f"{day}.parquet")
    progress = layer_progress(tmp_path, DAYS)
    assert progress == [
        ("raw", 3, 4),
        ("clean", 1, 8),
        ("features", 0, 4),
        ("serving", 0, 10),
        ("monitoring", 0, 4),
    ]
    assert built_tables(tmp_path, DAYS, ["raw/cloudwatch_metrics", "raw/cost_usage"]) == [
        BuiltTable("raw/cloudwatch_metrics", 2, 5),
        BuiltTable("raw/cost_usage", 1, 0),
    ]
    # only the days asked about count
    assert built_tables(tmp_path, DAYS[:1], ["raw/cloudwatch_metrics"])[0].rows == 3


def test_untrained_models_are_those_with_neither_champion_nor_challenger(tmp_path: Path):
    assert untrained_models(tmp_path) == [
        "demand_forecaster",
        "cost_forecaster",
        "anomaly_detector",
    ]
    registry = Registry(f"sqlite:///{tmp_path / 'mlflow.db'}", str(tmp_path / "models"))
    registry.register("cost_forecaster", "m", {}, {})
    assert untrained_models(tmp_path) == ["demand_forecaster", "anomaly_detector"]
