"""raw -> clean -> features materialized by Dagster on simulated partitions."""

import dataclasses
import json
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from mlplatform.definitions import ASSETS, build_definitions
from mlplatform.defs.clean import assets as clean_assets
from mlplatform.lib.cleaning import metrics as clean_metrics_module
from mlplatform.lib.lake.columns import describe_column
from mlplatform.resources.build import local_resources

DAY = "2026-01-09"


DATA_LAYERS = dg.AssetSelection.groups("raw", "clean", "features")


def materialize(root: Path, day: str, selection=DATA_LAYERS) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        ASSETS,
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
        "clean/other_metrics_hourly": "clean",
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
        "serving/anomaly_incidents": "serving",
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
        ("clean/other_metrics_hourly", "pandera_schema"): True,
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


def test_warehouse_columns_say_what_they_mean(built):
    root, _ = built
    warehouse = root / "warehouse.duckdb"
    query = (
        "SELECT schema_name || '.' || table_name, column_name, comment FROM duckdb_columns() "
        "WHERE NOT internal AND schema_name IN ('raw', 'clean', 'features')"
    )
    with duckdb.connect(str(warehouse), read_only=True) as con:
        columns = con.execute(query).fetchall()
    assert len({table for table, _, _ in columns}) == 8
    undescribed = [(table, column) for table, column, comment in columns if not comment]
    assert not undescribed
    assert dict((c, text) for t, c, text in columns if t == "clean.quarantine")["reason"] == (
        describe_column("clean.quarantine", "reason")
    )
    # a view made by a release without comments gets them from the next materialization
    with duckdb.connect(str(warehouse)) as con:
        con.execute('COMMENT ON COLUMN "clean"."quarantine"."reason" IS NULL')
    assert materialize(root, DAY).success
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute(query).fetchall() == columns


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


def test_a_failed_check_writes_nothing_and_stops_downstream(
    landing_root: Path, monkeypatch: pytest.MonkeyPatch
):
    """A cleaning that loses a row fails row_conservation: the check result is recorded, the
    run fails naming the day, and neither clean nor features is written for it."""
    root = landing_root.parent
    assert materialize(root, DAY, selection=dg.AssetSelection.groups("raw")).success
    lossy, lost = clean_metrics_module.clean_metrics, []

    def clean_losing_a_row(*args, **kwargs):
        result = lossy(*args, **kwargs)
        lost.append(int(result.clean["source_rows"][0]))
        return dataclasses.replace(result, clean=result.clean.slice(1))

    monkeypatch.setattr(clean_assets, "clean_metrics", clean_losing_a_row)
    result = materialize(root, DAY, selection=dg.AssetSelection.groups("clean", "features"))
    assert not result.success
    evaluations = {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in result.get_asset_check_evaluations()
    }
    failed = evaluations[("clean/metrics_hourly", "row_conservation")]
    assert failed.passed is False
    assert failed.metadata["unaccounted_rows"].value == lost[0] > 0
    assert failed.metadata["failed_partitions"].value == DAY
    assert evaluations[("clean/cost_daily", "row_conservation")].passed
    assert result.get_asset_materialization_events() == []
    assert not (root / "lake" / "clean" / "metrics_hourly" / f"{DAY}.parquet").exists()
    assert not (root / "lake" / "features").exists()


def test_a_range_run_writes_each_day_as_a_single_day_run_would(landing_root: Path):
    """A backfill batches days into one run: each day's partition equals its own run's."""
    root = landing_root.parent
    for day in ("2026-01-06", "2026-01-07", "2026-01-08", DAY):
        assert materialize(root, day).success
    single = {
        p.relative_to(root / "lake"): pl.read_parquet(p)
        for p in (root / "lake").rglob("2026-01-0[89].parquet")
    }
    ranged = dg.materialize(
        ASSETS,
        resources=local_resources(root),
        instance=dg.DagsterInstance.ephemeral(),
        selection=DATA_LAYERS,
        tags={
            "dagster/asset_partition_range_start": "2026-01-08",
            "dagster/asset_partition_range_end": DAY,
        },
    )
    assert ranged.success
    assert {m.partition for m in ranged.get_asset_materialization_events()} == {
        "2026-01-08",
        DAY,
    }
    checks = ranged.get_asset_check_evaluations()
    assert len(checks) == 6 and all(c.passed for c in checks)
    assert checks[0].metadata["partitions"].value == f"2026-01-08, {DAY}"
    assert len(single) == 2 * 8  # two days of raw (2), clean (4) and features (2)
    for path, frame in single.items():
        assert_frame_equal(pl.read_parquet(root / "lake" / path), frame)
