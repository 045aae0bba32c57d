"""The one place the Definitions are assembled."""

import dagster as dg

from mlplatform.automation.delivery import build_alert_delivery_sensor
from mlplatform.automation.jobs import daily_pipeline_job, retrain_job, weekly_retrain_schedule
from mlplatform.automation.policies import automation_sensor, policies_for
from mlplatform.automation.sensors import (
    build_first_training_sensor,
    build_landing_sensor,
    retrain_sensor,
)
from mlplatform.defs.clean.assets import clean_partition
from mlplatform.defs.features.assets import cost_daily_features, resource_hourly
from mlplatform.defs.models.assets import anomaly_detector, cost_forecaster, demand_forecaster
from mlplatform.defs.monitoring.assets import feature_drift, model_performance
from mlplatform.defs.raw.assets import cloudwatch_metrics, cost_usage
from mlplatform.defs.serving.assets import (
    anomaly_alerts,
    anomaly_incidents,
    cost_forecasts,
    cost_recommendations,
    demand_forecasts,
)
from mlplatform.defs.sources.assets import source_assets
from mlplatform.resources.build import build_resources
from mlplatform.settings import (
    automation_interval_seconds,
    catchup_days,
    deployment,
    operations_config,
)

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
    anomaly_incidents,
    cost_recommendations,
    feature_drift,
    model_performance,
]


# Must match deploy/scaleout/celery.yaml, which the workers start with.
CELERY_RELIABILITY = {
    "task_acks_late": True,
    "task_reject_on_worker_lost": True,
    "worker_prefetch_multiplier": 1,
}


def build_executor() -> dg.ExecutorDefinition:
    """Embedded default: every step in the run's own process. A step's work is seconds, and a
    process per step (Dagster's default) spends about as long again importing the stack, on a
    machine whose cores the concurrent runs already share. Scale-out: every step a Celery task
    on the workers (`deploy/scaleout/`); the broker URL, a secret, is read from
    MLPLATFORM_CELERY_BROKER when a run starts."""
    if deployment() == "local":
        return dg.in_process_executor
    from dagster_celery import celery_executor

    return celery_executor.configured(
        {
            "broker": {"env": "MLPLATFORM_CELERY_BROKER"},
            "backend": "rpc://",
            "config_source": CELERY_RELIABILITY,
        }
    )


def build_definitions(
    resources: dict | None = None, executor: dg.ExecutorDefinition | None = None
) -> dg.Definitions:
    interval, window = automation_interval_seconds(), catchup_days()
    operations = operations_config()
    sources = source_assets(operations)
    delivery = []
    if operations is not None and operations.alerts is not None:
        delivery.append(build_alert_delivery_sensor(operations.alerts, interval))
    return dg.Definitions(
        assets=dg.map_asset_specs(
            policies_for(window, live_sources=bool(sources)), [*sources, *ASSETS]
        ),
        jobs=[retrain_job, daily_pipeline_job],
        schedules=[weekly_retrain_schedule],
        sensors=[
            build_landing_sensor(interval, window),
            automation_sensor(interval),
            build_first_training_sensor(interval),
            retrain_sensor,
            *delivery,
        ],
        resources=resources if resources is not None else build_resources(),
        executor=executor if executor is not None else build_executor(),
    )


defs = build_definitions()
