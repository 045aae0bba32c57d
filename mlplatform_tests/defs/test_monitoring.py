from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import polars as pl

from benchmarks.simulated_hourly import simulated_hourly
from mlplatform.definitions import ASSETS
from mlplatform.defs.monitoring.assets import NOT_MEASURED
from mlplatform.defs.monitoring.checks import (
    FEATURE_DRIFT_SPEC,
    MEASURED,
    PARTITION,
    worst_day_result,
)
from mlplatform.lib.features.engineering import resource_hourly_features
from mlplatform.lib.ingest.simulator import SimulationConfig
from mlplatform.lib.monitoring.drift import Thresholds
from mlplatform.resources.build import local_resources

START = date(2026, 1, 1)


def test_drift_in_a_young_deployment_is_not_measured_rather_than_failed(tmp_path: Path):
    """Before the reference holds the day's weekday there is nothing fair to compare with:
    the partition says so and its check passes, instead of a failed run for each day."""
    features = resource_hourly_features(simulated_hourly(SimulationConfig(resources=5), START, 4))
    folder = tmp_path / "lake" / "features" / "resource_hourly"
    folder.mkdir(parents=True)
    for i in range(4):
        day = START + timedelta(days=i)
        features.filter(pl.col("ts").dt.date() == day).write_parquet(folder / f"{day}.parquet")
    result = dg.materialize(
        ASSETS,
        selection=dg.AssetSelection.assets(["monitoring", "feature_drift"]),
        partition_key="2026-01-04",
        resources=local_resources(tmp_path),
    )
    [materialization] = result.asset_materializations_for_node("monitoring__feature_drift")
    assert "rows of the same weekday (Sunday)" in materialization.metadata[NOT_MEASURED].value
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.passed and evaluation.metadata["measured"].value is False
    assert not (tmp_path / "reports" / "feature_drift" / "2026-01-04.html").exists()


def test_the_first_day_has_nothing_to_compare_with_and_is_not_measured(tmp_path: Path):
    """The deployment's first partition has no day before it: not measured, not a failed run
    (a failed run would never be retried, and the catch-up would wait on it forever)."""
    features = resource_hourly_features(simulated_hourly(SimulationConfig(resources=5), START, 1))
    folder = tmp_path / "lake" / "features" / "resource_hourly"
    folder.mkdir(parents=True)
    features.write_parquet(folder / f"{START}.parquet")
    result = dg.materialize(
        ASSETS,
        selection=dg.AssetSelection.assets(["monitoring", "feature_drift"]),
        partition_key=START.isoformat(),
        resources=local_resources(tmp_path),
    )
    assert result.success
    [materialization] = result.asset_materializations_for_node("monitoring__feature_drift")
    assert "no feature partitions before" in materialization.metadata[NOT_MEASURED].value
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.passed and evaluation.metadata["measured"].value is False


def test_a_check_over_several_days_reports_the_worst_day():
    thresholds = {"share": Thresholds(warn=0.5, error=1.0), "signal": Thresholds(0.2, 0.3)}

    def day(share: float, signal: float = 0.0) -> dict[str, float]:
        return {"share": share, "signal": signal}

    result = worst_day_result(
        FEATURE_DRIFT_SPEC,
        {
            "2026-01-02": day(0.0),
            "2026-01-03": day(1.0),
            "2026-01-04": day(0.5),
            "2026-01-05": None,
        },
        thresholds,
    )
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    assert result.metadata[PARTITION].value == "2026-01-03"
    assert result.metadata[MEASURED].value == 1.0  # the first figure
    assert result.metadata["by_partition"].value["2026-01-05"] is None
    healthy = worst_day_result(FEATURE_DRIFT_SPEC, {"2026-01-02": day(0.2)}, thresholds)
    assert healthy.passed and healthy.metadata[PARTITION].value == "2026-01-02"
    unmeasured = worst_day_result(FEATURE_DRIFT_SPEC, {"2026-01-02": None}, thresholds)
    assert unmeasured.passed and unmeasured.metadata["measured"].value is False
    # any figure at its threshold is enough: a change confined to one signal, share low
    confined = worst_day_result(
        FEATURE_DRIFT_SPEC,
        {"2026-01-02": day(0.1, 0.25), "2026-01-03": day(0.2, 0.45)},
        thresholds,
        {"2026-01-03": "most moved metric: memory_utilization"},
    )
    assert confined.severity == dg.AssetCheckSeverity.ERROR
    assert confined.metadata[PARTITION].value == "2026-01-03"
    assert confined.metadata["signal"].value == 0.45 and confined.metadata["share"].value == 0.2
    assert "memory_utilization" in confined.description
