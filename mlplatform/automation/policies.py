"""Freshness and automation, applied once at the root: one policy per layer."""

from collections.abc import Callable
from datetime import timedelta

import dagster as dg

from mlplatform.defs.keys import COST_FEATURES, COST_FORECASTS, COST_RECOMMENDATIONS

# A daily partition is due within a day of closing; downstream layers get a little more.
# (`freshness` tightens the layers that refresh the open day when a poller feeds them.)
FRESHNESS: dict[str, dg.FreshnessPolicy] = {
    "raw": dg.FreshnessPolicy.time_window(
        fail_window=timedelta(hours=30), warn_window=timedelta(hours=26)
    ),
    "clean": dg.FreshnessPolicy.time_window(
        fail_window=timedelta(hours=32), warn_window=timedelta(hours=27)
    ),
    "features": dg.FreshnessPolicy.time_window(
        fail_window=timedelta(hours=34), warn_window=timedelta(hours=28)
    ),
    "serving": dg.FreshnessPolicy.time_window(
        fail_window=timedelta(hours=36), warn_window=timedelta(hours=29)
    ),
    "monitoring": dg.FreshnessPolicy.time_window(
        fail_window=timedelta(hours=40), warn_window=timedelta(hours=30)
    ),
    # models retrain weekly, or sooner when a check asks for it
    "models": dg.FreshnessPolicy.time_window(
        fail_window=timedelta(days=8), warn_window=timedelta(days=7)
    ),
}
DEFAULT_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(days=2))


def catch_up(window_days: int) -> dg.AutomationCondition:
    """Every missing partition of the last `window_days` days, not only the latest one (which
    is all `eager()` targets), and a partition again when a dependency is updated.

    - A partition whose last run failed is left alone until a dependency changes: no retry
      loop. A person can still launch it.
    - Dependencies older than the window never block: a lookback reaching back before the
      window (or before the first partition) reads what exists.
    - Models are not data: a retrained model does not re-run history (the rows of a day keep
      the model version that served them); a missing model still blocks.
    - A layer is requested in the same tick as the layer it reads (one backfill, which runs
      them in order), not a tick later. This needs no gate on the dependencies' blocking
      checks: a clean day that fails its checks is never written, so it stays missing and
      holds up every day that reads it.
    """
    in_window = dg.AutomationCondition.in_latest_time_window(
        lookback_delta=timedelta(days=window_days)
    )
    missing_in_window = dg.AutomationCondition.any_deps_match(
        dg.AutomationCondition.missing() & in_window & ~dg.AutomationCondition.will_be_requested()
    )
    dependency_updated = (
        dg.AutomationCondition.any_deps_updated()
        .ignore(dg.AssetSelection.groups("models"))
        .since_last_handled()
    )
    return (
        in_window
        & (
            (dg.AutomationCondition.missing() & ~dg.AutomationCondition.execution_failed())
            | dependency_updated
        )
        & ~missing_in_window
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label(f"catch_up({window_days} days)")


def closed_days_only(condition: dg.AutomationCondition) -> dg.AutomationCondition:
    """`condition`, except on the open day (the latest partition, still filling): drift on
    half a day, or a daily cost from half its lines, would be measured on what is missing."""
    label = condition.get_label() or "condition"
    return (condition & ~dg.AutomationCondition.in_latest_time_window()).with_label(
        f"{label}, closed days"
    )


# Assets that need a whole day, in layers that otherwise refresh the open day as it fills:
# cost lines arrive per day (an export lags by hours), so the open day has none yet.
WHOLE_DAY_ASSETS = frozenset({COST_FEATURES, COST_FORECASTS, COST_RECOMMENDATIONS})


def automation(window_days: int) -> dict[str, dg.AutomationCondition | None]:
    """Per layer. raw has none: `landing_sensor` is its one trigger, since only it sees files
    arrive. Models train first on their own (`first_training_sensor`); after that a retrain is
    a decision (`retrain_sensor`, the weekly schedule), not a reaction to every partition.
    Monitoring measures closed days only."""
    downstream = catch_up(window_days)
    return {
        "raw": None,
        "clean": downstream,
        "features": downstream,
        "serving": downstream,
        "monitoring": closed_days_only(downstream),
        "models": None,
    }


def freshness(live_sources: bool) -> dict[str, dg.FreshnessPolicy]:
    """With a poller landing the open day, the layers that refresh it are due within the hour;
    without one (files delivered per day), a day is due within a day of closing."""
    if not live_sources:
        return FRESHNESS
    intra_day = dg.FreshnessPolicy.time_window(
        fail_window=timedelta(hours=2), warn_window=timedelta(minutes=75)
    )
    return FRESHNESS | {layer: intra_day for layer in ("raw", "clean", "features", "serving")}


def policies_for(
    window_days: int, live_sources: bool = False
) -> Callable[[dg.AssetSpec], dg.AssetSpec]:
    """The layer's freshness policy and automation condition, unless the asset sets its own."""
    conditions = automation(window_days)
    whole_day_condition = closed_days_only(catch_up(window_days))
    policies = freshness(live_sources)

    def with_policies(spec: dg.AssetSpec) -> dg.AssetSpec:
        layer = spec.key.path[0]
        whole_day = spec.key in WHOLE_DAY_ASSETS
        layer_freshness = FRESHNESS if whole_day else policies
        return spec.replace_attributes(
            freshness_policy=spec.freshness_policy or layer_freshness.get(layer, DEFAULT_FRESHNESS),
            automation_condition=spec.automation_condition
            or (whole_day_condition if whole_day else conditions.get(layer)),
        )

    return with_policies


def automation_sensor(interval_seconds: int) -> dg.AutomationConditionSensorDefinition:
    """Declarative automation runs by default: its sensor starts RUNNING with the deployment.
    The partitions one tick requests go out as one backfill, which the daemon launches within
    the run queue's limit (`max_concurrent_runs` in dagster.yaml): a catch-up is no storm."""
    return dg.AutomationConditionSensorDefinition(
        "automation_sensor",
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=interval_seconds,
        emit_backfills=True,
        description="Evaluates every asset's automation condition: catch_up below raw.",
    )
