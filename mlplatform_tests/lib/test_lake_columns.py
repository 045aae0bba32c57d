"""What the lake's columns mean: every column the library declares is described, a name reads
per table where it means something else there, and the SQL views carry the descriptions."""

from pathlib import Path

import polars as pl
import pytest

from mlplatform.lib.cleaning.cost import DAILY_COLUMNS
from mlplatform.lib.cleaning.metrics import HOURLY_COLUMNS, OTHER_HOURLY_COLUMNS
from mlplatform.lib.cleaning.schemas import QUARANTINE_COLUMNS
from mlplatform.lib.features.engineering import cost_daily_features, resource_hourly_features
from mlplatform.lib.ingest.landing import raw_schema
from mlplatform.lib.lake.columns import BY_TABLE, SHARED, describe_column
from mlplatform.lib.lake.sql import query_lake
from mlplatform.lib.models.detector_tables import ALERT_COLUMNS
from mlplatform.lib.serving.incidents import INCIDENT_COLUMNS

DECLARED = {
    "clean.metrics_hourly": list(HOURLY_COLUMNS),
    "clean.other_metrics_hourly": list(OTHER_HOURLY_COLUMNS),
    "clean.cost_daily": list(DAILY_COLUMNS),
    "clean.quarantine": list(QUARANTINE_COLUMNS),
    "features.resource_hourly": resource_hourly_features(
        pl.DataFrame(schema=HOURLY_COLUMNS)
    ).columns,
    "features.cost_daily": cost_daily_features(pl.DataFrame(schema=DAILY_COLUMNS))
    .collect_schema()
    .names(),
    "serving.anomaly_alerts": list(ALERT_COLUMNS),
    "serving.anomaly_incidents": list(INCIDENT_COLUMNS),
    "raw.cloudwatch_metrics": list(
        raw_schema(["timestamp", "resource_id", "metric_name", "value", "unit"])
    ),
    "raw.cost_usage": list(raw_schema(["ChargePeriodStart", "BilledCost", "ResourceId"])),
}


@pytest.mark.parametrize("table", sorted(DECLARED))
def test_every_declared_column_is_described(table: str):
    missing = [c for c in DECLARED[table] if not describe_column(table, c)]
    assert not missing, f"{table}: {missing}"


def test_descriptions_survive_the_uis_markdown():
    # the UI renders a description as Markdown: "<model>/<version>" showed as "/"
    texts = [*SHARED.values(), *(t for table in BY_TABLE.values() for t in table.values())]
    texts += [describe_column(t, c) or "" for t, columns in DECLARED.items() for c in columns]
    assert not [t for t in texts if "<" in t or ">" in t]


def test_a_name_reads_as_its_table_means_it():
    raw, alert = (
        describe_column(t, "value") for t in ("raw.cloudwatch_metrics", "serving.anomaly_alerts")
    )
    assert raw and "text" in raw
    assert alert and "text" not in alert
    # a feature family is described from its name, so a new metric's columns are too
    assert describe_column("features.resource_hourly", "disk_ops_p95_24h") == (
        "95th percentile of disk_ops over the 24 hours up to this row."
    )
    assert describe_column("features.cost_daily", "billed_cost_lag_14d") == (
        "billed_cost 14 days earlier."
    )
    cost_mae = describe_column("monitoring.model_performance", "cost_mae")
    assert cost_mae and cost_mae.startswith("Cost forecaster") and "Mean absolute error" in cost_mae
    assert describe_column("serving.demand_forecasts", "no_such_column") is None
    # an alert's model_version is a detector's, a forecast's a forecaster's
    detector = describe_column("serving.anomaly_alerts", "model_version")
    assert detector and "anomaly_detector" in detector and "forecaster" not in detector
    assert "forecaster" in (describe_column("serving.demand_forecasts", "model_version") or "")


def test_sql_views_carry_the_descriptions(tmp_path: Path):
    day = tmp_path / "2026-01-01.parquet"
    pl.DataFrame({"resource_id": ["i-1"], "signal": ["novelty"], "ad_hoc": [1]}).write_parquet(day)
    comments = dict(
        query_lake(
            "SELECT column_name, comment FROM duckdb_columns() "
            "WHERE schema_name = 'serving' AND table_name = 'anomaly_alerts'",
            {"serving.anomaly_alerts": [str(day)]},
        ).iter_rows()
    )
    assert comments["signal"] == describe_column("serving.anomaly_alerts", "signal")
    assert "novelty" in comments["signal"]
    assert comments["resource_id"] and comments["filename"]
    assert comments["ad_hoc"] is None  # undocumented columns stay readable, without a comment
