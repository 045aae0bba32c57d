"""The forecasters' inputs at serving time are the inputs they were trained on."""

import warnings
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from benchmarks.simulated_hourly import simulated_hourly
from mlplatform.lib.features.engineering import cost_daily_features, resource_hourly_features
from mlplatform.lib.ingest.simulator import SimulationConfig
from mlplatform.lib.models.forecasting import (
    COST,
    DEMAND,
    build_dataset,
    day_dataset,
    due_dataset,
    due_lookback_days,
    forecast_tables,
    serving_lookback_days,
    symlog,
)
from mlplatform.lib.models.naive_guard import NaiveGuard
from mlplatform.lib.models.training import (
    SearchBudget,
    expanding_folds,
    fit_booster,
    model_threads,
    search,
)
from mlplatform.lib.monitoring.performance import forecast_performance, served_performance

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
    since = DAY - timedelta(days=serving_lookback_days(DEMAND))
    short = features.filter(pl.col("ts").dt.date() >= since)
    alone = forecast_tables(DEMAND, short, [DAY], booster, "v")[DAY]
    everything = forecast_tables(DEMAND, features, [DAY - timedelta(days=1), DAY], booster, "v")
    assert alone.height == 5 * 24 * len(DEMAND.horizons)
    assert alone.equals(everything[DAY])


GUARDED = replace(DEMAND, guard=NaiveGuard())  # as `mlplatform forecast`'s spec has one


def test_a_guard_gives_the_naive_forecast_where_a_series_has_left_the_model_behind(booster):
    """One resource's requests stop changing two days before DAY (a stalled service): the last
    value is exact there, so a spec with a guard gives it for that resource all DAY, named as
    what made those rows; every other row is the model's own forecast or a naive one that had
    been clearly better over the day before. The platform's spec has no guard."""
    hourly = simulated_hourly(SimulationConfig(resources=5), START, DAYS)
    stalled = hourly["resource_id"].unique().sort()[0]
    stall = (pl.col("resource_id") == stalled) & (pl.col("ts").dt.date() >= DAY - timedelta(2))
    hourly = hourly.with_columns(
        request_count=pl.when(stall).then(500.0).otherwise("request_count")
    )
    features = resource_hourly_features(hourly)
    guarded = forecast_tables(GUARDED, features, [DAY], booster, "v")[DAY]
    model = forecast_tables(DEMAND, features, [DAY], booster, "v")[DAY]
    assert model["forecast_by"].unique().to_list() == ["v"]
    assert guarded.select("resource_id", "origin", "horizon").equals(
        model.select("resource_id", "origin", "horizon")
    )
    assert guarded["model_version"].unique().to_list() == ["v"]
    by_stalled = guarded.filter(pl.col("resource_id") == stalled)
    assert by_stalled["forecast_by"].unique().to_list() == ["naive/last_value"]
    assert (by_stalled["forecast"] == 500.0).all()
    assert (model.filter(pl.col("resource_id") == stalled)["forecast"] != 500.0).any()
    own = guarded["forecast_by"] == "v"
    assert guarded.filter(own)["forecast"].equals(model.filter(own)["forecast"])
    assert set(guarded["forecast_by"]) <= {
        "v",
        "naive/last_value",
        *(f"naive/{b}" for b in DEMAND.baselines),
    }


def test_what_serving_gave_is_scored_on_the_rows_the_champion_is(features, booster):
    """Forecasts served by the champion score as the champion does (same rows, same MAE);
    forecasts served otherwise (here with a guard's naive replacements) score as what they
    were."""
    dataset = day_dataset(DEMAND, features, DAY)
    own = forecast_performance(booster, dataset, {})
    plain = served_performance(forecast_tables(DEMAND, features, [DAY], booster, "v")[DAY], dataset)
    assert plain["served_scored_forecasts"] == own["scored_forecasts"] == dataset.frame.height
    assert plain["served_mae"] == pytest.approx(own["mae"])
    assert plain["served_mae_relative_to_best_baseline"] == pytest.approx(
        own["mae_relative_to_best_baseline"]
    )
    other = forecast_tables(GUARDED, features, [DAY], booster, "v")[DAY]
    truth = dataset.frame.rename({"ts": "origin"}).join(
        other, on=["resource_id", "origin", "horizon"]
    )
    assert (truth["forecast_by"] != "v").any()
    scored = served_performance(other, dataset)
    assert scored["served_mae"] == pytest.approx(
        (truth["forecast"] - truth["_y_future"]).abs().mean()
    )
    assert scored["served_mae"] != pytest.approx(own["mae"])
    assert served_performance(other.head(0), dataset) == {}


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


def test_demand_inputs_carry_the_recent_level(features):
    """Each level input is the mean of the target's last k rows (symlog) against the current
    level, from that series' own rows only."""
    dataset = build_dataset(features, DEMAND)
    assert DEMAND.level_rows and {f"level_{k}_rows" for k in DEMAND.level_rows} <= set(
        dataset.features
    )
    k = DEMAND.level_rows[0]
    # not the first series in order: its first rows must not average the previous one's last
    second = sorted(features["resource_id"].unique())[1]
    one = features.filter(pl.col("resource_id") == second).sort("ts")
    level = symlog(one["request_count"].to_numpy()[: k + 30])
    expected = [level[max(0, i - k + 1) : i + 1].mean() - level[i] for i in range(level.size)]
    rows = dataset.frame.filter((pl.col("resource_id") == second) & (pl.col("horizon") == 1)).sort(
        "ts"
    )
    np.testing.assert_allclose(rows[f"level_{k}_rows"].to_numpy()[: level.size], expected)


def _cost_features(days: int, jump_from: int | None = None) -> pl.DataFrame:
    """Three account-service series with a weekly cycle and noise; ×2 from `jump_from` on."""
    rng = np.random.default_rng(3)
    rows = []
    for account, base in (("1", 100.0), ("2", 40.0), ("3", 900.0)):
        for i in range(days):
            level = base * (1 + 0.2 * ((i % 7) < 5)) * (2.0 if jump_from and i >= jump_from else 1)
            cost = level * (1 + 0.03 * rng.standard_normal())
            rows.append((START + timedelta(days=i), account, "EC2", "USD", cost, cost * 0.9))
    frame = pl.DataFrame(
        rows,
        schema=[
            "date",
            "sub_account_id",
            "service_name",
            "billing_currency",
            "billed_cost",
            "effective_cost",
        ],
        orient="row",
    )
    return cost_daily_features(frame).collect()


@pytest.fixture(scope="module")
def cost_model():
    table = _cost_features(35)
    dataset = build_dataset(table, COST)
    booster = fit_booster(dataset.X, dataset.y, {"min_data_in_leaf": 5}, 40, dataset.features, 2)
    training = forecast_performance(
        booster, due_dataset(COST, table, START + timedelta(days=34)), {}
    )
    return booster, training  # in-sample figures, standing in for the registered ones


def test_cost_forecasts_due_on_a_day_are_the_week_befores(cost_model):
    booster, training = cost_model
    day = START + timedelta(days=40)
    history = _cost_features(45)
    since = day - timedelta(days=due_lookback_days(COST))
    due = due_dataset(COST, history.filter(pl.col("date") >= since), day)
    assert due.frame.height == 3 * len(COST.horizons)  # every series, every horizon
    assert (due.frame["_target_time"].dt.date() == day).all()
    assert due.frame["date"].max() < day and due.frame["date"].min() == day - timedelta(days=7)
    assert due.frame.select(due.features).equals(
        due_dataset(COST, history, day).frame.select(due.features)
    )
    steady = forecast_performance(booster, due, training)
    assert steady["scored_forecasts"] == 21 and steady["mae_ratio_to_training"] < 3


def test_a_cost_regime_change_shows_in_the_cost_forecasters_accuracy(cost_model):
    booster, training = cost_model
    day = START + timedelta(days=40)
    steady = forecast_performance(booster, due_dataset(COST, _cost_features(45), day), training)
    jumped = forecast_performance(
        booster, due_dataset(COST, _cost_features(45, jump_from=38), day), training
    )
    assert jumped["mae"] > 5 * steady["mae"]


def test_model_threads_default_to_one_and_refuse_nonsense(monkeypatch):
    """One OpenMP thread per fit unless the operator says otherwise: runs share the cores."""
    monkeypatch.delenv("MLPLATFORM_MODEL_THREADS", raising=False)
    assert model_threads() == 1
    monkeypatch.setenv("MLPLATFORM_MODEL_THREADS", "4")
    assert model_threads() == 4
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv("MLPLATFORM_MODEL_THREADS", bad)
        with pytest.raises(ValueError, match="MLPLATFORM_MODEL_THREADS"):
            model_threads()


def test_the_search_is_silent_and_picks_within_its_budget():
    """LightGBM warned 'Overriding the parameters from Reference Dataset' on every fold into
    the CLI's output and every training run's log, until the folds' validation sets got their
    training set's parameters."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 3))
    y = X[:, 0] * 2 + rng.normal(0, 0.1, 600)
    t = np.arange(600)
    folds = expanding_folds(t, t, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = search(X, y, folds, ["a", "b", "c"], SearchBudget(trials=2, max_rounds=30))
    assert result.trials == 2 and 1 <= result.rounds <= 30
    assert result.cv_mae < np.mean(np.abs(y - np.median(y)))
