"""The forecasters' inputs at serving time are the inputs they were trained on."""

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from benchmarks.simulated_hourly import simulated_hourly
from mlplatform.lib.features.engineering import resource_hourly_features
from mlplatform.lib.ingest.simulator import SimulationConfig
from mlplatform.lib.models.forecasting import (
    DEMAND,
    build_dataset,
    day_dataset,
    forecast_tables,
    lookback_days,
)
from mlplatform.lib.models.training import fit_booster

START, DAYS = date(2026, 1, 1), 16
DAY = START + timedelta(days=DAYS - 2)


@pytest.fixture(scope="module")
def features() -> pl.DataFrame:
    return resource_hourly_features(simulated_hourly(SimulationConfig(resources=5), START, DAYS))


@pytest.fixture(scope="module")
def booster(features):
    dataset = build_dataset(features, DEMAND)
    return fit_booster(dataset.X, dataset.y, {}, 20, dataset.features, 2)


def test_a_day_is_forecast_from_its_lookback_as_from_everything(features, booster):
    since = DAY - timedelta(days=lookback_days(DEMAND))
    short = features.filter(pl.col("ts").dt.date() >= since)
    alone = forecast_tables(DEMAND, short, [DAY], booster, "v")[DAY]
    everything = forecast_tables(DEMAND, features, [DAY - timedelta(days=1), DAY], booster, "v")
    assert alone.height == 5 * 24 * len(DEMAND.horizons)
    assert alone.equals(everything[DAY])


def test_serving_inputs_carry_the_seasonal_analogs(features):
    dataset = day_dataset(DEMAND, features, DAY)
    analogs = [c for c in dataset.features if c.startswith(("analog_", "gap_", "change_"))]
    assert len(analogs) == 2 * len(DEMAND.baselines) + 4
    assert dataset.frame.select(analogs).null_count().sum_horizontal().item() == 0
    only_today = day_dataset(DEMAND, features.filter(pl.col("ts").dt.date() == DAY), DAY)
    # without history the analogs are unknown: what the previous serving code fed the model
    assert only_today.frame["analog_same_hour_last_week"].null_count() == only_today.frame.height
    truth = dataset.frame["_y_future"].to_numpy()
    assert np.isfinite(truth).all() and (dataset.frame["_target_time"].dt.date() == DAY).all()
