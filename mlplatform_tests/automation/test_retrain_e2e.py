"""30 simulated days on a real (temporary) Dagster instance: without drift no retrain is
requested; with drift from day 20, retrain_sensor requests exactly one retrain within two
daily partitions of the onset, and the retrained model is registered and promoted only if
it beats the champion.

The raw → clean → features layers are tested on their own elsewhere; here their output is
written straight to the lake by the same library code so that the 30 days stay quick."""

import json
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from benchmarks.simulated_hourly import simulated_hourly
from mlplatform.automation.sensors import retrain_sensor
from mlplatform.definitions import ASSETS
from mlplatform.lib.features.engineering import resource_hourly_features
from mlplatform.lib.ingest.simulator import SimulationConfig
from mlplatform.lib.models.registry import CHAMPION
from mlplatform.resources.build import local_resources
from mlplatform.resources.monitoring import MonitoringPolicy

START = date(2026, 1, 1)
DAYS = 30
TRAIN_UNTIL = 14  # the first champion is trained on days 1..14
DRIFT_DAY = 20
QUICK = {
    "training_days": 28,
    "min_training_days": 7,
    "search_trials": 2,
    "search_timeout_seconds": 20,
}
MODELS = dg.AssetSelection.groups("models")
MONITORING = dg.AssetSelection.assets(["monitoring", "feature_drift"])


def _write_features(root: Path, drift_start: date | None) -> None:
    config = SimulationConfig(resources=40, seed=21, anomaly_rate=0.0, drift_start=drift_start)
    features = resource_hourly_features(simulated_hourly(config, START, DAYS))
    folder = root / "lake" / "features" / "resource_hourly"
    folder.mkdir(parents=True)
    for i in range(DAYS):
        day = START + timedelta(days=i)
        features.filter(pl.col("ts").dt.date() == day).write_parquet(folder / f"{day}.parquet")


def _hide_future(root: Path, visible_days: int) -> list[Path]:
    """Move partitions after `visible_days` aside, as if they had not arrived yet."""
    folder = root / "lake" / "features" / "resource_hourly"
    hidden = []
    for path in sorted(folder.glob("*.parquet"))[visible_days:]:
        target = path.with_name(f".{path.name}")
        path.rename(target)
        hidden.append(target)
    return hidden


def _materialize(root: Path, instance, selection, partition=None) -> dg.ExecuteInProcessResult:
    config = {"models__demand_forecaster": {"config": QUICK}}
    return dg.materialize(
        ASSETS,
        selection=selection,
        partition_key=partition,
        resources=local_resources(root),
        instance=instance,
        run_config=dg.RunConfig(ops=config) if partition is None else None,
        raise_on_error=True,
    )


def _simulate_operations(
    root: Path, drift_start: date | None
) -> tuple[list[tuple[str, dg.RunRequest]], dict]:
    _write_features(root, drift_start)
    hidden = _hide_future(root, TRAIN_UNTIL)
    instance = dg.DagsterInstance.ephemeral()
    # only the demand forecaster matters to the checks; train it alone as the first champion
    demand = dg.AssetSelection.assets(["models", "demand_forecaster"])
    _materialize(root, instance, demand)
    for path in hidden:
        path.rename(path.with_name(path.name[1:]))
    resources = {"monitoring_policy": local_resources(root)["monitoring_policy"]}
    cursor, requests, shares = None, [], {}
    for i in range(TRAIN_UNTIL, DAYS):
        day = (START + timedelta(days=i)).isoformat()
        result = _materialize(root, instance, MONITORING, partition=day)
        [evaluation] = result.get_asset_check_evaluations()
        shares[day] = evaluation.metadata["measured_value"].value
        context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources)
        sensor_result = retrain_sensor(context)
        cursor = sensor_result.cursor
        for request in sensor_result.run_requests:
            requests.append((day, request))
            assert _materialize(root, instance, demand).success  # what retrain_job runs
    return requests, shares


@pytest.mark.slow
def test_no_drift_no_retrain(tmp_path: Path):
    requests, shares = _simulate_operations(tmp_path, drift_start=None)
    assert requests == [], shares


@pytest.mark.slow
def test_drift_triggers_exactly_one_retrain(tmp_path: Path):
    onset = START + timedelta(days=DRIFT_DAY - 1)
    requests, shares = _simulate_operations(tmp_path, drift_start=onset)
    assert len(requests) == 1, (requests, shares)
    day, request = requests[0]
    assert onset.isoformat() <= day <= (onset + timedelta(days=1)).isoformat()
    assert request.tags["mlplatform/trigger"] == "monitoring/feature_drift:feature_drift_check"
    assert request.tags["mlplatform/partition"] == day
    assert float(request.tags["mlplatform/measured_value"]) >= MonitoringPolicy().drift_error_share
    registry = local_resources(tmp_path)["registry"].open()
    versions = registry.versions("demand_forecaster")
    assert [v.version for v in versions] == [1, 2]
    retrained = registry.metadata("demand_forecaster", 2)
    champion = registry.by_alias("demand_forecaster", CHAMPION)
    promoted = "beats champion" in retrained["promotion"] or "no champion" in retrained["promotion"]
    assert (champion.version == 2) == promoted, json.dumps(retrained["promotion"])
    # the drift report linked from the materialization is a self-contained HTML file
    report = tmp_path / "reports" / "feature_drift" / f"{day}.html"
    assert report.stat().st_size > 100_000
    assert "<html" in report.read_text(errors="replace")[:2000].lower()
