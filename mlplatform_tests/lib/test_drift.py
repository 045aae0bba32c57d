"""Drift, prediction drift and data quality of a day's model inputs (lib/monitoring/drift.py)."""

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from benchmarks.simulated_hourly import simulated_hourly
from mlplatform.lib.features.engineering import resource_hourly_features
from mlplatform.lib.ingest.simulator import SimulationConfig
from mlplatform.lib.monitoring.drift import (
    InsufficientHistory,
    feature_drift,
    same_weekday,
    with_predictions,
)
from mlplatform.resources.monitoring import MonitoringPolicy

START = date(2026, 1, 5)  # a Monday
WINDOW = [START + timedelta(days=k) for k in range(14)]
POLICY = MonitoringPolicy()


def _features(drift_start: date | None, kind: str = "mix") -> pl.DataFrame:
    config = SimulationConfig(resources=60, seed=5, drift_start=drift_start, drift_kind=kind)
    return resource_hourly_features(simulated_hourly(config, START, 23))


def _day(features: pl.DataFrame, day: date) -> pl.DataFrame:
    return features.filter(pl.col("ts").dt.date() == day)


@pytest.fixture(scope="module")
def steady() -> pl.DataFrame:
    return _features(None)


@pytest.fixture(scope="module")
def reference(steady) -> pl.DataFrame:
    return steady.filter(pl.col("ts").dt.date().is_in(WINDOW))


def test_a_steady_deployment_does_not_drift(steady, reference, tmp_path):
    """Three weeks in, nothing changed: far below the WARN share, though the day is compared
    on every model input (a weekday and a weekend day alike)."""
    for day in (START + timedelta(days=16), START + timedelta(days=20)):  # Wednesday, Sunday
        summary = feature_drift(reference, _day(steady, day), tmp_path / f"{day}.html")
        assert len(summary.scores) >= 30  # every numeric input, not two derived columns
        assert {"service", "region", "memory_utilization_p95_24h"} <= set(summary.scores)
        assert summary.share < POLICY.drift_warn_share, summary.headline()
        assert summary.signal[1] < POLICY.signal_warn_distance, summary.families
        assert (tmp_path / f"{day}.html").read_text().lstrip().startswith("<")


def test_a_traffic_mix_change_drifts_and_says_where(reference):
    """The simulator's drift: 40 % of resources carry more load, later in the day, with
    heavier requests. Seen on its second day, above the ERROR share, and located."""
    drift_start = START + timedelta(days=20)
    drifted = _features(drift_start)
    summary = feature_drift(reference, _day(drifted, drift_start + timedelta(days=1)))
    assert summary.share >= POLICY.drift_error_share, summary.headline()
    assert any(c.startswith("network_io") for c in summary.drifted)
    assert summary.segments and max(summary.segments.values()) > 0
    assert "drifted" in summary.headline() and "within a segment" in summary.headline()


def test_a_change_confined_to_one_metric_is_its_signals_drift(reference):
    """Memory use 20 points higher on 40 % of resources, traffic unchanged: too few columns
    for the drift share, but most of memory's own columns moved."""
    drift_start = START + timedelta(days=20)
    summary = feature_drift(
        reference, _day(_features(drift_start, "memory"), drift_start + timedelta(days=1))
    )
    assert summary.share < POLICY.drift_error_share
    assert summary.signal[0] == "memory_utilization", summary.families
    assert summary.signal[1] >= POLICY.signal_error_distance, summary.families
    assert summary.families["request_count"] < POLICY.signal_warn_distance
    assert "the most moved metric: memory_utilization" in summary.headline()


def test_data_quality_is_reported(steady, reference):
    day = _day(steady, START + timedelta(days=15))
    broken = (
        day.with_row_index("i")
        .with_columns(
            memory_utilization=pl.when(pl.col("i") % 2 == 0)
            .then(None)
            .otherwise(pl.col("memory_utilization")),
            cpu_utilization=pl.when(pl.col("i") < 7)
            .then(150.0)
            .otherwise(pl.col("cpu_utilization")),
            region=pl.when(pl.col("i") < 30).then(pl.lit("ap-south-9")).otherwise(pl.col("region")),
        )
        .drop("i")
    )
    summary = feature_drift(reference, broken)
    current, before = summary.missing["memory_utilization"]
    assert current >= before + 0.3  # half of the rows lost it, a quarter never had it
    assert summary.out_of_range["cpu_utilization"] == 7
    assert summary.new_categories == {"region": ["ap-south-9"]}
    text = summary.headline()
    assert "memory_utilization" in text and "cpu_utilization (7)" in text and "ap-south-9" in text
    frame = summary.as_frame()
    row = frame.filter(pl.col("column") == "cpu_utilization").row(0, named=True)
    assert row["out_of_range"] == 7 and row["kind"] == "feature"


def test_prediction_drift_is_measured(steady, reference):
    """The champion's forecasts join their feature rows, one column per horizon; forecasts
    three times as high drift though no input moved."""
    day = _day(steady, START + timedelta(days=15))

    def forecasts(frame: pl.DataFrame, factor: float) -> pl.DataFrame:
        return pl.concat(
            frame.select(
                "resource_id",
                origin=pl.col("ts"),
                horizon=pl.lit(h),
                forecast=pl.col("request_count") * factor,
            )
            for h in (1, 2)
        )

    ref = with_predictions(reference, forecasts(reference, 1.0))
    assert {"forecast_h1", "forecast_h2"} <= set(ref.columns) and ref.height == reference.height
    summary = feature_drift(ref, with_predictions(day, forecasts(day, 3.0)))
    assert {"forecast_h1", "forecast_h2"} <= set(summary.drifted)
    kinds = dict(summary.as_frame().select("column", "kind").iter_rows())
    assert kinds["forecast_h1"] == "prediction" and kinds["region"] == "segment"


def _alerts(frame: pl.DataFrame, every: int) -> pl.DataFrame:
    """One alert on every `every`-th resource-hour of `frame`, at a minute past the hour."""
    return (
        frame.with_row_index("i")
        .filter(pl.col("i") % every == 0)
        .select(
            "resource_id",
            metric=pl.lit("cpu_utilization"),
            ts=pl.col("ts") + pl.duration(minutes=1),
        )
    )


def test_the_detectors_alert_rate_is_a_prediction_column(steady, reference):
    """Alerts per resource-hour join the feature rows (0 where none fired); a detector that
    fires twenty times as often drifts though no input moved, one that keeps its rate does
    not."""
    day = _day(steady, START + timedelta(days=15))
    ref = with_predictions(reference, None, _alerts(reference, 200))
    assert ref.height == reference.height
    assert ref["anomaly_alerts"].sum() == _alerts(reference, 200).height
    assert ref["anomaly_alerts"].null_count() == 0
    assert "anomaly_alerts" not in with_predictions(reference, None, None).columns
    calm = feature_drift(ref, with_predictions(day, None, _alerts(day, 200)))
    assert "anomaly_alerts" in calm.scores and "anomaly_alerts" not in calm.drifted
    loud = feature_drift(ref, with_predictions(day, None, _alerts(day, 10)))
    assert "anomaly_alerts" in loud.drifted
    kinds = dict(loud.as_frame().select("column", "kind").iter_rows())
    assert kinds["anomaly_alerts"] == "prediction"


def test_a_weekday_the_reference_lacks_is_not_measured(reference):
    weekdays_only = reference.filter(pl.col("ts").dt.weekday() <= 5)
    sunday = reference.filter(pl.col("ts").dt.weekday() == 7).with_columns(
        pl.col("ts") + pl.duration(days=7)
    )
    with pytest.raises(InsufficientHistory, match=r"same weekday \(Sunday\)"):
        same_weekday(weekdays_only, sunday)
    assert same_weekday(reference, sunday)["ts"].dt.weekday().unique().to_list() == [7]
    assert datetime(2026, 1, 11, tzinfo=UTC).weekday() == 6  # START + 6 is a Sunday


def test_a_column_the_reference_lacks_is_not_compared(steady, reference):
    """A source that starts sending a segment column: the day is still measured, on what
    both sides have."""
    summary = feature_drift(reference.drop("region"), _day(steady, START + timedelta(days=15)))
    assert "region" not in summary.scores and "service" in summary.scores


def test_markup_in_a_segment_value_never_reaches_the_reports_script(steady, reference, tmp_path):
    """The second wall behind clean's identifier contract: Evidently writes category values
    into an inline <script>, where a `</script>` in a value would end it."""
    payload = "</script><script>alert(document.domain)</script>"
    day = _day(steady, START + timedelta(days=16))
    hostile = day.with_columns(
        service=pl.when(pl.int_range(pl.len()) % 2 == 0)
        .then(pl.lit(payload))
        .otherwise(pl.col("service"))
    )
    feature_drift(reference, hostile, tmp_path / "report.html")
    html = (tmp_path / "report.html").read_text()
    assert payload not in html and "<script>alert" not in html
    assert "?/script??script?alert(document.domain)?/script?" in html
