import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from mlplatform.lib.ingest.simulator import (
    SimulationConfig,
    resource_catalog,
    simulate,
    simulate_day,
)


def test_deterministic_and_day_by_day_equals_range():
    config = SimulationConfig(resources=20, seed=3)
    ranged = list(simulate(config, date(2026, 2, 1), 3))
    alone = simulate_day(config, date(2026, 2, 3))
    assert ranged[2].metrics.equals(alone.metrics)
    assert ranged[2].cost.equals(alone.cost)
    other = simulate_day(SimulationConfig(resources=20, seed=4), date(2026, 2, 3))
    assert not other.metrics.equals(alone.metrics)


def test_shape_seasonality_and_missing_memory():
    config = SimulationConfig(resources=40, seed=1, anomaly_rate=0.0)
    day = simulate_day(config, date(2026, 2, 2))  # a Monday
    catalog = resource_catalog(config)
    assert day.metrics["resource_id"].n_unique() == 40
    no_agent = catalog.filter(~pl.col("reports_memory"))["resource_id"]
    assert no_agent.len() > 0
    memory = day.metrics.filter(pl.col("metric_name") == "memory_utilization")
    assert not memory["resource_id"].is_in(no_agent.implode()).any()
    hourly = (
        day.metrics.filter(pl.col("metric_name") == "request_count")
        .group_by(pl.col("timestamp").dt.hour().alias("h"))
        .agg(pl.col("value").sum())
        .sort("h")["value"]
    )
    assert hourly.max() > 1.5 * hourly.min()  # daily seasonality
    assert set(day.cost["ConsumedUnit"]) == {"Hours", "GB"}
    assert (day.cost["BilledCost"] >= 0).all()


def test_anomalies_are_labelled_and_visible():
    config = SimulationConfig(resources=30, seed=2, anomaly_rate=0.3)
    day = simulate_day(config, date(2026, 2, 4))
    spikes = [a for a in day.anomalies if a.kind == "spike" and a.start.date() == day.day]
    assert spikes
    calm = simulate_day(SimulationConfig(resources=30, seed=2, anomaly_rate=0.0), date(2026, 2, 4))
    a = spikes[0]
    window = (pl.col("resource_id") == a.resource_id) & (pl.col("metric_name") == "request_count")
    window &= (pl.col("timestamp") >= a.start) & (pl.col("timestamp") < a.end)
    assert (
        day.metrics.filter(window)["value"].sum() > 2 * calm.metrics.filter(window)["value"].sum()
    )


def test_drift_changes_the_traffic_mix_from_its_start():
    base = SimulationConfig(resources=50, seed=9, anomaly_rate=0.0)
    drifted = SimulationConfig(
        resources=50, seed=9, anomaly_rate=0.0, drift_start=date(2026, 2, 10)
    )
    before = simulate_day(drifted, date(2026, 2, 9))
    assert before.metrics.equals(simulate_day(base, date(2026, 2, 9)).metrics)
    after, plain = simulate_day(drifted, date(2026, 2, 10)), simulate_day(base, date(2026, 2, 10))
    assert after.drifted and not before.drifted
    total = pl.col("value").filter(pl.col("metric_name") == "request_count").sum()
    assert after.metrics.select(total).item() > 1.2 * plain.metrics.select(total).item()


def _by_metric(day, metric: str) -> pl.DataFrame:
    """Per resource: the day's total, and the hour its traffic peaks."""
    rows = day.metrics.filter(pl.col("metric_name") == metric)
    hourly = rows.group_by("resource_id", pl.col("timestamp").dt.hour().alias("h")).agg(
        pl.col("value").sum()
    )
    return hourly.group_by("resource_id").agg(
        total=pl.col("value").sum(), peak=pl.col("h").sort_by("value").last()
    )


@pytest.mark.parametrize("kind", ["level", "shape", "memory"])
def test_each_drift_kind_moves_what_it_says(kind: str):
    day = date(2026, 2, 11)  # a Wednesday
    base = SimulationConfig(resources=60, seed=9, anomaly_rate=0.0)
    drifted = SimulationConfig(
        resources=60, seed=9, anomaly_rate=0.0, drift_start=day, drift_kind=kind
    )
    after, plain = simulate_day(drifted, day), simulate_day(base, day)
    affected = resource_catalog(base).filter("drift_affected")["resource_id"].implode()

    def compare(metric: str) -> pl.DataFrame:
        joined = _by_metric(after, metric).join(_by_metric(plain, metric), on="resource_id")
        return joined.filter(pl.col("resource_id").is_in(affected))

    requests = compare("request_count")
    load = (requests["total"] / requests["total_right"]).median()
    later = ((requests["peak"] - requests["peak_right"]) % 24).median()
    memory = compare("memory_utilization")
    memory_rise = ((memory["total"] - memory["total_right"]) / 24 / 4).median()  # 15-min points
    expected = {
        "level": (1.5, 0, 0),  # load ratio, hours the peak moved, memory points
        "shape": (1.0, 4, 0),
        "memory": (1.0, 0, 20),
    }[kind]
    assert load == pytest.approx(expected[0], abs=0.1)
    assert later == pytest.approx(expected[1], abs=1)
    assert memory_rise == pytest.approx(expected[2], abs=5)  # memory follows cpu a little


def test_invalid_config_is_refused():
    with pytest.raises(ValueError, match="drift_kind"):
        SimulationConfig(drift_kind="sudden")
    with pytest.raises(ValueError, match="interval_minutes"):
        SimulationConfig(interval_minutes=7)
    with pytest.raises(ValueError, match="resources"):
        SimulationConfig(resources=0)


def test_labels_files(landing_root: Path):
    """Each day's labels file holds exactly the anomalies the simulator applied that day."""
    config = SimulationConfig(resources=12, seed=5)  # landing_root's
    labelled = 0
    for day in simulate(config, date(2026, 1, 1), 9):
        labels = json.loads((landing_root / "labels" / f"{day.day}.json").read_text())
        assert labels["day"] == day.day.isoformat() and labels["drifted"] is False
        assert labels["config"]["seed"] == 5
        expected = [
            (a.resource_id, a.kind, a.start.isoformat(), a.end.isoformat()) for a in day.anomalies
        ]
        got = [(a["resource_id"], a["kind"], a["start"], a["end"]) for a in labels["anomalies"]]
        assert got == expected
        labelled += len(got)
    assert labelled, "no day of the fixture has an anomaly: the comparison above proved nothing"
