"""Freshness on every asset, and declarative automation that follows the data downstream."""

from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from mlplatform.automation.partitions import daily_partitions
from mlplatform.definitions import ASSETS, CHECKS, build_definitions
from mlplatform.lib.sources.simulator import SimulationConfig, simulate, write_landing_day
from mlplatform.resources.build import local_resources


def test_every_asset_has_a_freshness_policy_and_layers_automate(tmp_path: Path):
    graph = build_definitions(local_resources(tmp_path)).resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.freshness_policy is not None, key
        if key.path[0] == "models":
            assert node.automation_condition is None  # retraining is the retrain job's call
        else:
            assert node.automation_condition is not None, key


def test_new_raw_partition_requests_clean_once_its_checks_allow(tmp_path: Path):
    latest = daily_partitions.get_last_partition_key()
    assert latest is not None
    config = SimulationConfig(resources=5, seed=1)
    first = date.fromisoformat(latest) - timedelta(days=1)
    for day in simulate(config, first, 2):
        write_landing_day(day, tmp_path / "landing", config)
    defs = build_definitions(local_resources(tmp_path))
    instance = dg.DagsterInstance.ephemeral()
    before = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    result = dg.materialize(
        [*ASSETS, *CHECKS],
        partition_key=latest,
        selection=dg.AssetSelection.groups("raw"),
        resources=local_resources(tmp_path),
        instance=instance,
    )
    assert result.success
    evaluation = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, cursor=before.cursor
    )
    requested = {
        key.to_user_string(): evaluation.get_requested_partitions(key)
        for key in (
            dg.AssetKey(["clean", "metrics_hourly"]),
            dg.AssetKey(["features", "resource_hourly"]),
        )
    }
    assert requested["clean/metrics_hourly"] == {latest}
    assert requested["features/resource_hourly"] == set()  # waits for clean and its checks
