"""features/resource_hourly against FEATURES.md, row by row, on both computation paths."""

import math
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from mlplatform.lib.features.engineering import (
    ROLLING_METRICS,
    cost_daily_features,
    cost_features_for_day,
    feature_sources,
    features_for_day,
    resource_hourly_features,
)
from mlplatform_tests.factories import START, hourly_table
from mlplatform_tests.feature_reference import assert_close, reference


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    return hourly_table()


@pytest.fixture(scope="module")
def expected(table) -> pl.DataFrame:
    return reference(table)


def test_fast_path_matches_the_contract(table, expected):
    assert_close(resource_hourly_features(table), expected)


def test_general_path_matches_the_contract(table, expected):
    # Thirty seconds past the hour: not a grid, so the time-window path runs.
    shifted = table.with_columns(pl.col("ts") + pl.duration(seconds=30))
    ours = resource_hourly_features(shifted).with_columns(pl.col("ts") - pl.duration(seconds=30))
    assert_close(ours, expected)


def test_time_and_cross_metric_features():
    frame = pl.DataFrame(
        {
            "resource_id": ["a", "a"],
            "ts": [datetime(2026, 3, 7, 18, tzinfo=UTC), datetime(2026, 3, 9, 9, tzinfo=UTC)],
            "cpu_utilization": [40.0, 10.0],
            "memory_utilization": [20.0, 0.0],
            "network_io": [1.0, 2.0],
            "request_count": [1.0, 2.0],
        }
    )
    out = resource_hourly_features(frame).sort("ts")
    sat, mon = out.row(0, named=True), out.row(1, named=True)
    assert (sat["day_of_week"], sat["is_weekend"], sat["is_business_hour"]) == (5, 1, 0)
    assert (mon["day_of_week"], mon["is_weekend"], mon["is_business_hour"]) == (0, 0, 1)
    assert sat["hour_of_day_sin"] == pytest.approx(math.sin(2 * math.pi * 18 / 24))
    assert mon["month_cos"] == pytest.approx(math.cos(2 * math.pi * 3 / 12))
    assert sat["cpu_memory_ratio"] == pytest.approx(40 / (20 + 1e-6))
    assert mon["resource_efficiency"] == 5.0
    assert set(frame.columns) <= set(out.columns)


def test_partition_with_lookback_equals_whole_table(table):
    """Same rows and values; running-sum kernels may differ in the last digits only."""
    whole = resource_hourly_features(table)
    for day in (date(2026, 3, 1), date(2026, 3, 8), date(2026, 3, 10)):
        part = features_for_day(table, day)
        rows = whole.filter(pl.col("ts").dt.date() == day)
        assert part.height == rows.height > 0
        assert part.columns == rows.columns
        assert_close(part, rows, scale=1e-3)


def test_no_look_ahead(table):
    cut = START + timedelta(days=6)
    before = resource_hourly_features(table.filter(pl.col("ts") < cut))
    altered = table.with_columns(
        pl.when(pl.col("ts") >= cut).then(pl.col(m) * 7).otherwise(pl.col(m)).alias(m)
        for m in ("cpu_utilization", "network_io", "request_count")
    )
    after = resource_hourly_features(altered).filter(pl.col("ts") < cut)
    assert_close(before, after, scale=1e-3)


def test_cost_features_partition_equals_whole():
    days = [date(2026, 3, 1) + timedelta(days=i) for i in range(40)]
    frame = pl.DataFrame(
        {
            "date": days * 2,
            "sub_account_id": ["1"] * 40 + ["2"] * 40,
            "service_name": ["EC2"] * 80,
            "billing_currency": ["USD"] * 80,
            "billed_cost": [float(i % 7 + 10) for i in range(80)],
            "effective_cost": [float(i % 7 + 9) for i in range(80)],
        }
    )
    whole = cost_daily_features(frame).collect()
    part = cost_features_for_day(frame, date(2026, 4, 5))
    assert part.height == 2
    expected = whole.filter(pl.col("date") == date(2026, 4, 5)).select(part.columns)
    assert part.sort("sub_account_id").equals(expected.sort("sub_account_id"))
    row = part.filter(pl.col("sub_account_id") == "1").row(0, named=True)
    assert row["billed_cost_lag_7d"] == row["billed_cost"]  # weekly cycle of the test data
    assert row["billed_cost_sum_7d"] == pytest.approx(sum(range(10, 17)))


def test_column_lineage_covers_every_feature():
    inputs = list(hourly_table(resources=1, days=1).columns)
    outputs = resource_hourly_features(hourly_table(resources=1, days=1)).columns
    sources = feature_sources(inputs, outputs)
    assert set(sources) == set(outputs)
    assert all(set(s) <= set(inputs) and s for s in sources.values())
    assert sources["network_io_p95_24h"] == ["network_io", "ts", "resource_id"]
    assert sources["request_count_lag_168h"] == ["request_count", "ts", "resource_id"]
    assert sources["hour_of_day_sin"] == ["ts"]
    assert sources["cpu_memory_ratio"] == ["cpu_utilization", "memory_utilization"]


def test_features_are_bit_identical_on_every_run():
    """A re-run of a partition must write the same bytes' worth of values: nothing may depend
    on the order in which threads happen to finish."""
    table = hourly_table(resources=300, days=3, seed=4)
    first = resource_hourly_features(table)
    for _ in range(5):
        assert resource_hourly_features(table).equals(first)


def test_idle_and_constant_windows_after_busy_hours():
    """FEATURES.md: volatility is null where the window's mean is 0. A resource back at exactly
    0 for a day after busy hours (and one flat at 5) must not inherit a running-sum residue."""
    busy = [3.3e9, 7.1e9, 1e10, 2.2e9] * 6
    hours = 24 * 3
    frame = pl.DataFrame(
        {
            "resource_id": ["a"] * hours + ["b"] * hours,
            "ts": [START + timedelta(hours=h) for h in range(hours)] * 2,
            **{
                m: busy + [0.0] * (hours - len(busy)) + busy + [5.0] * (hours - len(busy))
                for m in ("cpu_utilization", "memory_utilization", "network_io", "request_count")
            },
        }
    ).with_columns(pl.col("ts").cast(pl.Datetime("us", "UTC")))
    for out in (
        resource_hourly_features(frame),
        resource_hourly_features(frame.with_columns(pl.col("ts") + pl.duration(seconds=30))),
    ):
        last = out.filter(pl.col("ts") >= START + timedelta(hours=hours - 1)).sort("resource_id")
        idle, flat = last.row(0, named=True), last.row(1, named=True)
        for m in ROLLING_METRICS:
            assert idle[f"{m}_mean_24h"] == 0.0 and idle[f"{m}_std_24h"] == 0.0
            assert idle[f"{m}_volatility_24h"] is None
            assert idle[f"{m}_trend_6h"] == 0.0
            assert flat[f"{m}_mean_24h"] == 5.0 and flat[f"{m}_std_24h"] == 0.0
            assert str(flat[f"{m}_volatility_24h"]) == "0.0"  # not -0.0
            assert flat[f"{m}_trend_6h"] == 0.0
