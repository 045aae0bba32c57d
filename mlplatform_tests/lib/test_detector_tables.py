"""The platform's anomaly detector over the clean hourly table: every metric of every resource."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from benchmarks.simulated_hourly import simulated_hourly
from mlplatform.lib.ingest.catalog import METRICS
from mlplatform.lib.ingest.simulator import SimulationConfig, simulate
from mlplatform.lib.models import detector
from mlplatform.lib.models.detector import DetectorSettings
from mlplatform.lib.models.detector_tables import (
    ALERT_COLUMNS,
    PERSISTENCE_ROWS,
    alerts_by_day,
    fit_table,
    history_days,
    metrics_of,
    observations,
    persistence,
    table_error,
)
from mlplatform.lib.monitoring.performance import label_recall

CONFIG = SimulationConfig(resources=40, seed=3, anomaly_rate=0.03)
START, SPLIT, DAYS = date(2026, 1, 1), date(2026, 1, 15), 21
SETTINGS = DetectorSettings(rounds=40)


@pytest.fixture(scope="module")
def hourly() -> pl.DataFrame:
    return simulated_hourly(CONFIG, START, DAYS)


@pytest.fixture(scope="module")
def booster(hourly):
    return fit_table(observations(hourly.filter(pl.col("ts").dt.date() < SPLIT)), SETTINGS)


def scored_days() -> list[date]:
    return [SPLIT + timedelta(days=k) for k in range((START + timedelta(days=DAYS) - SPLIT).days)]


def test_alerts_find_labelled_anomalies_on_every_kind_of_metric(hourly, booster):
    alerts, scored = alerts_by_day(observations(hourly), scored_days(), booster, SETTINGS)
    table = pl.concat(alerts.values())
    assert table.schema == pl.Schema(ALERT_COLUMNS)
    served = hourly.filter(pl.col("ts").dt.date() >= SPLIT)
    assert sum(scored.values()) == sum(served[m].count() for m in METRICS)  # every value
    labels = pl.DataFrame(
        [
            {"resource_id": a.resource_id, "start": a.start, "end": a.end, "kind": a.kind}
            for day in simulate(replace(CONFIG, interval_minutes=60), SPLIT, 7)
            for a in day.anomalies
            if a.start.date() >= SPLIT
        ]
    ).unique()
    found = label_recall(table, labels.drop("kind"))
    assert found["labelled"] >= 8
    assert found["recall"] >= 0.6
    assert found["precision"] >= 0.3
    # a slow memory leak moves memory alone: only watching every metric catches it
    leaks = labels.filter(pl.col("kind") == "slow_leak").drop("kind")
    memory_alerts = table.filter(pl.col("metric") == "memory_utilization")
    assert leaks.height and label_recall(memory_alerts, leaks)["recall"] > 0
    assert table.height < 0.01 * sum(scored.values())
    assert set(table["signal"]) <= set(detector.SIGNALS)
    # how long each excursion lasted, of the hours that had landed
    assert (table["seen_hours"].is_between(1, PERSISTENCE_ROWS)).all()
    assert (table["elevated_hours"].is_between(1, table["seen_hours"])).all()


def test_persistence_counts_the_elevated_hours_ahead_of_each_row():
    score = np.array([0.0, 0.7, 0.2, 0.6, 0.55, 0.0, 0.0, 0.0, 0.9])
    found = persistence(score)
    # row 1: of rows 1-6, rows 1, 3 and 4 reach 0.5; row 8: the last, alone and elevated
    assert found["elevated_hours"].to_list()[1] == 3
    assert found["seen_hours"].to_list() == [6, 6, 6, 6, 5, 4, 3, 2, 1]
    assert found["elevated_hours"].to_list()[-1] == 1


def test_a_cpu_only_anomaly_raises_a_cpu_alert(hourly, booster):
    quiet = simulated_hourly(replace(CONFIG, anomaly_rate=0.0), START, DAYS)
    victim, when = quiet["resource_id"][0], pl.datetime(2026, 1, 18, 14, time_zone="UTC")
    hit = (pl.col("resource_id") == victim) & pl.col("ts").is_between(
        when, when + pl.duration(hours=2)
    )
    broken = quiet.with_columns(
        cpu_utilization=pl.when(hit).then(99.0).otherwise(pl.col("cpu_utilization"))
    )
    alerts, _ = alerts_by_day(observations(broken), [date(2026, 1, 18)], booster, SETTINGS)
    mine = alerts[date(2026, 1, 18)].filter(pl.col("resource_id") == victim)
    assert mine.filter(pl.col("metric") == "cpu_utilization").height >= 1
    before, _ = alerts_by_day(observations(quiet), [date(2026, 1, 18)], booster, SETTINGS)
    assert (
        before[date(2026, 1, 18)]
        .filter((pl.col("resource_id") == victim) & (pl.col("metric") == "cpu_utilization"))
        .is_empty()
    )


def test_a_metric_outside_the_catalog_is_watched_too(booster):
    quiet = simulated_hourly(replace(CONFIG, anomaly_rate=0.0), START, DAYS)
    victim, when = quiet["resource_id"][0], datetime(2026, 1, 18, 14, tzinfo=UTC)
    disk = quiet.filter(pl.col("resource_id") == victim).select(
        "resource_id",
        pl.lit("DiskReadOps").alias("metric"),
        "ts",
        pl.when(pl.col("ts") == when)
        .then(pl.col("network_io") * 20)
        .otherwise(pl.col("network_io"))
        .alias("value"),
    )
    observed = observations(quiet, disk)
    assert metrics_of(observed) == [*METRICS, "DiskReadOps"]
    alerts, scored = alerts_by_day(observed, [when.date()], booster, SETTINGS)
    assert (
        scored[when.date()]
        == observations(quiet).filter(pl.col("ts").dt.date() == when.date()).height + 24
    )
    disk_alerts = alerts[when.date()].filter(pl.col("metric") == "DiskReadOps")
    assert disk_alerts["ts"].to_list() == [when]
    assert disk_alerts["resource_id"].to_list() == [victim]


def test_a_day_scored_from_its_memory_equals_a_scan_of_everything(booster):
    """What lets serving read only `history_days` before a day, and score a range at once."""
    settings = replace(
        SETTINGS,
        residual_window=48,
        surprise_history=96,
        min_history=24,
        novelty_record=96,
        novelty_history=96,
        range_history=120,
        warmup=24,
    )
    long = simulated_hourly(replace(CONFIG, resources=6), START, 30)
    days = [date(2026, 1, 27), date(2026, 1, 28)]
    everything, _ = alerts_by_day(observations(long), days, booster, settings)
    since = days[-1] - timedelta(days=history_days(settings))
    assert since > START  # the short run really starts later
    alone, _ = alerts_by_day(
        observations(long.filter(pl.col("ts").dt.date() >= since)), days[-1:], booster, settings
    )
    assert alone[days[-1]].height > 0
    np.testing.assert_allclose(
        alone[days[-1]]["anomaly_score"].to_numpy(),
        everything[days[-1]]["anomaly_score"].to_numpy(),
    )
    assert alone[days[-1]].drop("anomaly_score").equals(everything[days[-1]].drop("anomaly_score"))


def test_every_score_reads_only_the_detectors_memory(booster):
    values = simulated_hourly(replace(CONFIG, resources=1), START, 120)
    x, ts = values["request_count"].to_numpy(), values["ts"].dt.replace_time_zone(None).to_numpy()
    settings = DetectorSettings()
    keep = settings.memory(24) + 48
    assert keep < x.size
    full = detector.score(x, ts, booster, settings)
    tail = detector.score(x[-keep:], ts[-keep:], booster, settings)
    np.testing.assert_allclose(tail.score[-48:], full.score[-48:])
    np.testing.assert_array_equal(tail.is_anomaly[-48:], full.is_anomaly[-48:])
    # scoring only the last 48 rows (their history computed only as far as they read it)
    wanted = detector.score(x[-keep:], ts[-keep:], booster, settings, first_wanted=keep - 48)
    np.testing.assert_array_equal(wanted.score[-48:], tail.score[-48:])
    np.testing.assert_array_equal(wanted.is_anomaly[-48:], tail.is_anomaly[-48:])
    assert not np.array_equal(wanted.score[: keep - 48], tail.score[: keep - 48])  # skipped


def test_the_challenger_error_is_lower_on_the_data_it_models(hourly, booster):
    recent = hourly.filter(pl.col("ts").dt.date() >= SPLIT)
    recent = observations(recent)
    assert table_error(booster, recent, SETTINGS) < table_error(None, recent, SETTINGS)


def test_alert_volume_benchmark_counts_a_quiet_fleets_alerts_day_by_day(capsys):
    """`benchmarks.alert_volume` (docs/evaluation.md): nothing alerts in the warm-up, every day
    gets a line, and a higher `min_score` never sends more alerts."""
    from benchmarks.alert_volume import MIN_SCORES, main

    argv = ["alert_volume", "--resources", "8", "--days", "9", "--anomaly-rate", "0.2"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.argv", argv)
        assert main() == 0
    lines = capsys.readouterr().out.splitlines()
    days = [line.split() for line in lines if line[:4] == "2026"]
    assert len(days) == 9
    assert [int(d[2]) for d in days[:5]] == [0] * 5  # 120 hourly rows of warm-up
    for header in (
        "min_score  alerts  labelled anomalies found  alerts inside one",
        "min_score  incidents  events reached  incidents touching one",
    ):
        start = lines.index(header) + 1
        sent = [int(line.split()[1]) for line in lines[start : start + len(MIN_SCORES)]]
        assert sent[0] > 0 and sent == sorted(sent, reverse=True), header
    assert any(line.startswith("false incidents over all 9 days") for line in lines)
    assert any(line.startswith("events reaching an incident: ") for line in lines)
