"""A forecaster serves only once it beats the naive forecast; until then serving is naive."""

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from benchmarks.simulated_hourly import simulated_hourly
from mlplatform.lib.features.engineering import resource_hourly_features
from mlplatform.lib.ingest.simulator import SimulationConfig
from mlplatform.lib.models.forecasting import DEMAND, naive_forecast_tables
from mlplatform.lib.models.promotion import demote
from mlplatform.lib.models.registry import CHALLENGER, CHAMPION, Registry, decide_promotion
from mlplatform.lib.models.training import forecast_metrics

DAY = date(2026, 1, 3)


def test_a_first_model_worse_than_naive_is_not_promoted():
    refused = decide_promotion(9.0, None, 0.02, naive_ratio=4.5)
    assert not refused.promote and "does not beat the naive forecast" in refused.reason
    assert decide_promotion(9.0, None, 0.02, naive_ratio=0.9).promote
    # no naive figure measured (nan) is no evidence of skill
    assert not decide_promotion(9.0, None, 0.02, naive_ratio=float("nan")).promote
    # the detector has no naive gate: a first one is promoted on its own score
    assert decide_promotion(9.0, None, 0.02).promote
    assert not decide_promotion(float("nan"), None, 0.02).promote


def test_a_challenger_beating_the_champion_but_not_naive_is_not_promoted():
    assert decide_promotion(5.0, 10.0, 0.02, naive_ratio=0.5).promote
    refused = decide_promotion(5.0, 10.0, 0.02, naive_ratio=1.0)
    assert not refused.promote and refused.champion_score == 10.0


def test_the_naive_fallback_is_scored_on_every_row_as_served():
    y = np.array([10.0, 20.0, 30.0, 40.0])
    model = np.array([11.0, 21.0, 31.0, 41.0])  # off by 1 everywhere
    last = np.array([12.0, 22.0, 32.0, 42.0])  # off by 2
    weekly = np.array([np.nan, np.nan, 30.5, 40.5])  # off by 0.5, only where a week is known
    metrics = forecast_metrics(y, model, {"last_value": last, "weekly": weekly})
    # on its own rows the weekly baseline is best and the model loses to it...
    assert metrics["best_baseline"] == "weekly"
    assert metrics["mae_relative_to_best_baseline"] == pytest.approx(2.0)
    # ...served as it would be (the last value where it has none), it errs by 1.25 on average
    assert metrics["naive_fallback"] == "weekly"
    assert metrics["mae_naive_fallback"] == pytest.approx(1.25)
    assert metrics["mae_relative_to_naive_fallback"] == pytest.approx(0.8)


def test_naive_tables_forecast_the_baseline_or_the_last_value():
    start = DAY - timedelta(days=2)
    history = resource_hourly_features(simulated_hourly(SimulationConfig(resources=5), start, 3))
    table = naive_forecast_tables(DEMAND, history, [DAY], "same_hour_yesterday")[DAY]
    assert table["model_version"].unique().to_list() == ["naive/same_hour_yesterday"]
    assert table.height == 5 * 24 * len(DEMAND.horizons)
    actual = history.select(
        "resource_id", pl.col("ts").alias("target_time"), pl.col("request_count").alias("y")
    )
    yesterday = table.with_columns(pl.col("target_time") - timedelta(days=1)).join(
        actual, on=["resource_id", "target_time"]
    )
    assert yesterday.height == table.height
    assert np.allclose(yesterday["forecast"], yesterday["y"])
    # a week back is beyond this history: the last value serves instead
    weekly = naive_forecast_tables(DEMAND, history, [DAY], "same_hour_last_week")[DAY]
    last = weekly.join(
        actual.rename({"target_time": "origin"}), on=["resource_id", "origin"], how="inner"
    )
    assert np.allclose(last["forecast"], last["y"])
    with pytest.raises(ValueError, match="no naive baseline 'same_day_last_week'"):
        naive_forecast_tables(DEMAND, history, [DAY], "same_day_last_week")


def test_a_demoted_champion_leaves_the_naive_forecast_it_was_measured_against(tmp_path):
    registry = Registry(f"sqlite:///{tmp_path / 'mlflow.db'}", str(tmp_path / "models"))
    weekly = {"metrics": {"naive_fallback": "same_hour_last_week"}}
    first = registry.register("demand_forecaster", "m", weekly, {}).version
    registry.promote("demand_forecaster", first)
    assert registry.by_alias("demand_forecaster", CHALLENGER) is None

    assert demote(registry, "demand_forecaster", "drifted") == (first, "same_hour_last_week")
    assert registry.by_alias("demand_forecaster", CHAMPION) is None
    # the demoted version is the challenger now: what serving reads its fallback from
    assert registry.by_alias("demand_forecaster", CHALLENGER).version == first
    with pytest.raises(LookupError, match="no champion to demote"):
        demote(registry, "demand_forecaster", "again")

    # a newer challenger keeps its place, and names the fallback
    registry.promote("demand_forecaster", first)
    daily = {"metrics": {"naive_fallback": "same_hour_yesterday"}}
    newer = registry.register("demand_forecaster", "m", daily, {}).version
    assert demote(registry, "demand_forecaster", "drifted") == (first, "same_hour_yesterday")
    assert registry.by_alias("demand_forecaster", CHALLENGER).version == newer

    detector = registry.register("anomaly_detector", "m", {}, {}).version
    registry.promote("anomaly_detector", detector)
    with pytest.raises(LookupError, match="no naive fallback"):
        demote(registry, "anomaly_detector", "noisy")
    assert registry.by_alias("anomaly_detector", CHAMPION).version == detector
