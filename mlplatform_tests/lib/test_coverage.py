from pathlib import Path

from mlplatform.lib.models.registry import Registry
from mlplatform.lib.monitoring.coverage import DAILY_TABLES, missing_partitions, not_built

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
