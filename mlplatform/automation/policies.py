"""Freshness and automation, applied once at the root: one policy per layer."""

from datetime import timedelta

import dagster as dg

DAILY_INGESTION_CRON = "30 0 * * *"  # UTC: half an hour after a day's partition closes

# A daily partition is due within a day of closing; downstream layers get a little more.
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

_DOWNSTREAM = (
    dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()
)
AUTOMATION: dict[str, dg.AutomationCondition | None] = {
    "raw": dg.AutomationCondition.on_cron(DAILY_INGESTION_CRON),
    "clean": _DOWNSTREAM,
    "features": _DOWNSTREAM,
    "serving": _DOWNSTREAM,
    "monitoring": _DOWNSTREAM,
    "models": None,  # retraining is a decision: the retrain job, not every new partition
}


def with_policies(spec: dg.AssetSpec) -> dg.AssetSpec:
    """The layer's freshness policy and automation condition, unless the asset sets its own."""
    layer = spec.key.path[0]
    return spec.replace_attributes(
        freshness_policy=spec.freshness_policy or FRESHNESS.get(layer, DEFAULT_FRESHNESS),
        automation_condition=spec.automation_condition or AUTOMATION.get(layer),
    )


# Declarative automation runs by default: its sensor starts RUNNING with the deployment.
automation_sensor = dg.AutomationConditionSensorDefinition(
    "automation_sensor",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Evaluates every asset's automation condition (on_cron raw, eager downstream).",
)
