"""The one place the Definitions are assembled."""

import dagster as dg

from mlplatform.automation.jobs import retrain_job, weekly_retrain_schedule
from mlplatform.automation.policies import automation_sensor, with_policies
from mlplatform.automation.sensors import landing_sensor, retrain_sensor
from mlplatform.defs.clean.assets import clean_partition
from mlplatform.defs.clean.checks import clean_checks
from mlplatform.defs.features.assets import cost_daily_features, resource_hourly
from mlplatform.defs.models.assets import anomaly_detector, cost_forecaster, demand_forecaster
from mlplatform.defs.monitoring.assets import feature_drift, model_performance
from mlplatform.defs.monitoring.checks import monitoring_checks
from mlplatform.defs.raw.assets import cloudwatch_metrics, cost_usage
from mlplatform.defs.serving.assets import (
    anomaly_alerts,
    cost_forecasts,
    cost_recommendations,
    demand_forecasts,
)
from mlplatform.resources.build import build_resources

ASSETS = [
    cloudwatch_metrics,
    cost_usage,
    clean_partition,
    resource_hourly,
    cost_daily_features,
    demand_forecaster,
    cost_forecaster,
    anomaly_detector,
    demand_forecasts,
    cost_forecasts,
    anomaly_alerts,
    cost_recommendations,
    feature_drift,
    model_performance,
]
CHECKS = [*clean_checks, *monitoring_checks]


def build_definitions(resources: dict | None = None) -> dg.Definitions:
    return dg.Definitions(
        assets=dg.map_asset_specs(with_policies, ASSETS),
        asset_checks=CHECKS,
        jobs=[retrain_job],
        schedules=[weekly_retrain_schedule],
        sensors=[retrain_sensor, landing_sensor, automation_sensor],
        resources=resources if resources is not None else build_resources(),
    )


defs = build_definitions()
