"""The platform's anomaly model against the simulator's labelled anomalies."""

from dataclasses import replace
from datetime import date

import polars as pl

from benchmarks.simulated_hourly import simulated_hourly
from mlplatform.lib.features.engineering import resource_hourly_features
from mlplatform.lib.ingest.simulator import SimulationConfig, simulate
from mlplatform.lib.models.anomaly_model import label_recall, score, train_anomaly_model

CONFIG = SimulationConfig(resources=60, seed=3, anomaly_rate=0.03)
SPLIT = date(2026, 1, 15)


def test_alerts_find_labelled_spikes_and_shifts():
    features = resource_hourly_features(simulated_hourly(CONFIG, date(2026, 1, 1), 21))
    model = train_anomaly_model(features.filter(pl.col("ts").dt.date() < SPLIT))
    assert 0 < model.threshold < 1
    scored = score(
        model.booster,
        features.filter(pl.col("ts").dt.date() >= SPLIT),
        model.scale,
        model.threshold,
    )
    assert scored["anomaly_score"].is_between(0, 1).all()
    hourly = replace(CONFIG, interval_minutes=60)
    labels = pl.DataFrame(
        [
            {"resource_id": a.resource_id, "start": a.start, "end": a.end}
            for day in simulate(hourly, SPLIT, 7)
            for a in day.anomalies
            if a.kind in ("spike", "level_shift") and a.start.date() >= SPLIT
        ]
    ).unique()
    found = label_recall(scored, labels)
    assert found["labelled"] >= 5
    assert found["recall"] >= 0.5
    assert found["precision"] >= 0.3
    # quiet data raises few alerts: the threshold is the 99.9th percentile of training scores
    assert scored["is_anomaly"].mean() < 0.01
