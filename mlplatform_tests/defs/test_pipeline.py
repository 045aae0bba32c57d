"""raw -> clean -> features materialized by Dagster on simulated partitions."""

import json
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from mlplatform.definitions import ASSETS, CHECKS, build_definitions
from mlplatform.resources.build import local_resources

DAY = "2026-01-09"


DATA_LAYERS = dg.AssetSelection.groups("raw", "clean", "features")


def materialize(root: Path, day: str, selection=DATA_LAYERS) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [*ASSETS, *CHECKS],
        partition_key=day,
        resources=local_resources(root),
        instance=dg.DagsterInstance.ephemeral(),
        selection=selection,
        raise_on_error=False,
    )


@pytest.fixture
def built(landing_root: Path) -> tuple[Path, dg.ExecuteInProcessResult]:
    root = landing_root.parent
    for day in ("2026-01-07", "2026-01-08"):
        assert materialize(root, day, selection=dg.AssetSelection.groups("raw", "clean")).success
    return root, materialize(root, DAY)


def test_definitions_load_and_groups_follow_layers():
    defs = build_definitions(local_resources(Path("/nonexistent")))
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups == {
        "raw/cloudwatch_metrics": "raw",
        "raw/cost_usage": "raw",
        "clean/metrics_hourly": "clean",
        "clean/cost_daily": "clean",
        "clean/quarantine": "clean",
        "features/resource_hourly": "features",
        "features/cost_daily": "features",
        "models/demand_forecaster": "models",
        "models/cost_forecaster": "models",
        "models/anomaly_detector": "models",
        "serving/demand_forecasts": "serving",
        "serving/cost_forecasts": "serving",
        "serving/anomaly_alerts": "serving",
        "serving/cost_recommendations": "serving",
        "monitoring/feature_drift": "monitoring",
        "monitoring/model_performance": "monitoring",
    }
    parents = graph.get(dg.AssetKey(["features", "resource_hourly"])).parent_keys
    assert parents == {dg.AssetKey(["clean", "metrics_hourly"])}
    clean = graph.get(dg.AssetKey(["clean", "metrics_hourly"]))
    assert clean.parent_keys == {dg.AssetKey(["raw", "cloudwatch_metrics"])}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.description and node.owners and node.kinds, key
    assert {s.name for s in defs.sensors} == {
        "retrain_sensor",
        "landing_sensor",
        "automation_sensor",
        "first_training_sensor",
    }
    assert defs.resolve_job_def("retrain_job").name == "retrain_job"
    assert [s.name for s in defs.schedules] == ["weekly_retrain_schedule"]


def test_partition_materializes_with_checks_and_metadata(built):
    root, result = built
    assert result.success
    checks = {
        (e.asset_key.to_user_string(), e.check_name): e.passed
        for e in result.get_asset_check_evaluations()
    }
    assert checks == {
        ("clean/metrics_hourly", "pandera_schema"): True,
        ("clean/cost_daily", "pandera_schema"): True,
        ("clean/quarantine", "pandera_schema"): True,
        ("clean/metrics_hourly", "row_conservation"): True,
        ("clean/cost_daily", "row_conservation"): True,
    }
    mats = {
        m.asset_key.to_user_string(): m.metadata
        for m in result.get_asset_materialization_events()
        for m in [m.materialization]
    }
    hourly = mats["clean/metrics_hourly"]
    assert hourly["dagster/row_count"].value == 12 * 24
    assert "| resource_id" in hourly["preview"].value
    assert hourly["quarantined_rows"].value == 0
    features = pl.read_parquet(root / "lake" / "features" / "resource_hourly" / f"{DAY}.parquet")
    assert features.height == 12 * 24
    # lookback reached the partitions before: the 24h lag of the first hour is known
    first = features.filter(pl.col("ts") == pl.col("ts").min())
    assert first["request_count_lag_24h"].null_count() == 0
    assert mats["features/resource_hourly"]["days_of_history_used"].value == 3


def test_warehouse_views_answer_sql(built):
    root, _ = built
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        hours = con.execute("SELECT count(*) FROM clean.metrics_hourly").fetchone()[0]
        tables = {
            r[0]
            for r in con.execute(
                "SELECT view_name FROM duckdb_views() WHERE NOT internal"
            ).fetchall()
        }
    assert hours == 3 * 12 * 24
    assert {"cloudwatch_metrics", "metrics_hourly", "quarantine", "resource_hourly"} <= tables


def test_bad_file_is_quarantined_and_rematerializing_replaces(built):
    root, _ = built
    folder = root / "landing" / "metrics" / DAY
    (folder / "broken.csv").write_text(
        "timestamp,resource_id,metric_name,value\n2026-01-09T01:00:00Z,i-x,request_count,many\n"
    )
    (folder / "empty.parquet").write_bytes(b"")
    result = materialize(root, DAY, selection=dg.AssetSelection.groups("raw", "clean"))
    assert result.success
    quarantine = pl.read_parquet(root / "lake" / "clean" / "quarantine" / f"{DAY}.parquet")
    assert sorted(quarantine["reason"].to_list()) == [
        "0-byte file (an interrupted upload?)",
        "not a number: many",
    ]
    record = json.loads(quarantine.filter(pl.col("source_line") == 2)["record"][0])
    assert record["value"] == "many"
    raw = pl.read_parquet(root / "lake" / "raw" / "cloudwatch_metrics" / f"{DAY}.parquet")
    again = materialize(root, DAY, selection=dg.AssetSelection.groups("raw"))
    assert again.success
    assert (
        pl.read_parquet(root / "lake" / "raw" / "cloudwatch_metrics" / f"{DAY}.parquet").height
        == raw.height
    )


def test_failing_blocking_check_stops_downstream(landing_root: Path):
    root = landing_root.parent
    assert materialize(root, DAY, selection=dg.AssetSelection.groups("raw", "clean")).success
    # Remove a row from raw after cleaning: conservation must fail and block features.
    raw_path = root / "lake" / "raw" / "cloudwatch_metrics" / f"{DAY}.parquet"
    raw = pl.read_parquet(raw_path)
    raw.vstack(raw.head(1)).write_parquet(raw_path)
    result = materialize(
        root,
        DAY,
        selection=dg.AssetSelection.checks(
            dg.AssetCheckKey(dg.AssetKey(["clean", "metrics_hourly"]), "row_conservation")
        )
        | dg.AssetSelection.assets(["features", "resource_hourly"]),
    )
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert evaluations["row_conservation"].passed is False
    assert evaluations["row_conservation"].metadata["unaccounted_rows"].value == 1
    materialized = {
        m.asset_key.to_user_string()
        for m in result.get_asset_materialization_events()
        for m in [m.materialization]
    }
    assert "features/resource_hourly" not in materialized
