"""Freshness on every asset, and declarative automation that catches up on every missing day."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg

from mlplatform.automation.partitions import daily_partitions
from mlplatform.automation.policies import WHOLE_DAY_ASSETS, catch_up, closed_days_only
from mlplatform.definitions import ASSETS, build_definitions
from mlplatform.lib.ingest.simulator import SimulationConfig, simulate, write_landing_day
from mlplatform.resources.build import local_resources

CLEAN = dg.AssetKey(["clean", "metrics_hourly"])
FEATURES = dg.AssetKey(["features", "resource_hourly"])
SERVING = dg.AssetKey(["serving", "demand_forecasts"])


def test_every_asset_has_a_freshness_policy_and_layers_automate(tmp_path: Path):
    graph = build_definitions(local_resources(tmp_path)).resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.freshness_policy is not None, key
        if key.path[0] in ("models", "raw"):
            # models: first_training_sensor, then retrain decisions; raw: landing_sensor
            assert node.automation_condition is None, key
        else:
            assert "catch_up" in node.automation_condition.get_label(), key


def _materialize_raw(tmp_path: Path, instance: dg.DagsterInstance, day: str) -> bool:
    return dg.materialize(
        ASSETS,
        partition_key=day,
        selection=dg.AssetSelection.groups("raw"),
        resources=local_resources(tmp_path),
        instance=instance,
        raise_on_error=False,
    ).success


def test_every_missing_day_is_caught_up_not_only_the_latest(tmp_path: Path):
    keys = daily_partitions.get_partition_keys()
    days = keys[-4:]
    config = SimulationConfig(resources=5, seed=1)
    for day in simulate(config, date.fromisoformat(days[0]), len(days)):
        write_landing_day(day, tmp_path / "landing", config)
    defs = build_definitions(local_resources(tmp_path))
    instance = dg.DagsterInstance.ephemeral()
    before = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert before.get_requested_partitions(CLEAN) == set()  # no raw yet: nothing to clean
    # the week before had no files: landing_sensor ingests such days empty
    quiet = keys[-11:-4]
    for day in [*quiet, *days]:
        assert _materialize_raw(tmp_path, instance, day)
    evaluation = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, cursor=before.cursor
    )
    assert evaluation.get_requested_partitions(CLEAN) == {*quiet, *days}
    # features are requested with the clean days they read (one backfill runs them in order),
    # once their whole lookback has raw data (the quiet days' lookback reaches older days that
    # these tests' partitions have and nothing ingested)
    assert evaluation.get_requested_partitions(FEATURES) == set(days)
    # the models are not data: what needs a champion waits for one
    assert evaluation.get_requested_partitions(SERVING) == set()


def test_days_older_than_the_window_are_left_to_a_person(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("MLPLATFORM_CATCHUP_DAYS", "3")
    keys = daily_partitions.get_partition_keys()
    old, recent = keys[-10], keys[-1]
    config = SimulationConfig(resources=3, seed=2)
    for first in (old, recent):
        for day in simulate(config, date.fromisoformat(first), 1):
            write_landing_day(day, tmp_path / "landing", config)
    defs = build_definitions(local_resources(tmp_path))
    instance = dg.DagsterInstance.ephemeral()
    for day in (old, recent):
        assert _materialize_raw(tmp_path, instance, day)
    evaluation = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert evaluation.get_requested_partitions(CLEAN) == {recent}
    assert date.fromisoformat(recent) - date.fromisoformat(old) > timedelta(days=3)


def test_a_failed_partition_is_not_retried_until_its_input_changes(tmp_path: Path):
    day = daily_partitions.get_partition_keys()[-1]
    config = SimulationConfig(resources=3, seed=3)
    for simulated in simulate(config, date.fromisoformat(day), 1):
        write_landing_day(simulated, tmp_path / "landing", config)
    defs = build_definitions(local_resources(tmp_path))
    instance = dg.DagsterInstance.ephemeral()
    assert _materialize_raw(tmp_path, instance, day)
    assert dg.evaluate_automation_conditions(defs=defs, instance=instance).get_requested_partitions(
        CLEAN
    ) == {day}
    (tmp_path / "lake" / "raw" / "cloudwatch_metrics" / f"{day}.parquet").unlink()
    failed = dg.materialize(
        ASSETS,
        partition_key=day,
        selection=dg.AssetSelection.groups("clean"),
        resources=local_resources(tmp_path),
        instance=instance,
        raise_on_error=False,
    )
    assert not failed.success
    again = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert again.get_requested_partitions(CLEAN) == set()
    assert _materialize_raw(tmp_path, instance, day)  # new input: the day is due again
    after = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=again.cursor)
    assert after.get_requested_partitions(CLEAN) == {day}


def test_whole_day_assets_wait_for_the_open_day_to_close(tmp_path: Path):
    """A closed day is built as soon as its input is; the open day (today, the latest
    partition) is refreshed by the layers that read hours, never by whole-day measures."""

    @dg.asset(partitions_def=daily_partitions)
    def hours() -> None: ...

    @dg.asset(
        partitions_def=daily_partitions,
        deps=[hours],
        automation_condition=closed_days_only(catch_up(30)),
    )
    def whole_day() -> None: ...

    @dg.asset(partitions_def=daily_partitions, deps=[hours], automation_condition=catch_up(30))
    def hourly_view() -> None: ...

    keys = daily_partitions.get_partition_keys()
    yesterday, today = keys[-2], keys[-1]
    assert today == datetime.now(UTC).date().isoformat()  # today is a partition: the open day
    defs = dg.Definitions(assets=[hours, whole_day, hourly_view])
    instance = dg.DagsterInstance.ephemeral()
    for day in (yesterday, today):
        assert dg.materialize([hours], partition_key=day, instance=instance).success
    evaluation = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert evaluation.get_requested_partitions(whole_day.key) == {yesterday}
    assert evaluation.get_requested_partitions(hourly_view.key) == {yesterday, today}
    graph = build_definitions(local_resources(tmp_path)).resolve_asset_graph()
    for key in (*WHOLE_DAY_ASSETS, dg.AssetKey(["monitoring", "feature_drift"])):
        assert graph.get(key).automation_condition.get_label().endswith("closed days"), key
