"""Sensors: retrain on failing monitoring checks, and turn new landing files into runs."""

import json
from datetime import UTC, datetime, timedelta

import dagster as dg

from mlplatform.automation.jobs import retrain_job
from mlplatform.automation.partitions import daily_partitions
from mlplatform.defs.monitoring.checks import (
    FEATURE_DRIFT,
    FEATURE_DRIFT_CHECK,
    MEASURED,
    MODEL_PERFORMANCE,
    MODEL_PERFORMANCE_CHECK,
)
from mlplatform.lib.retrain import CheckFailure, RetrainState, decide
from mlplatform.resources.landing import LandingZone
from mlplatform.resources.monitoring import MonitoringPolicy

# Both checks watch the demand forecaster's inputs and accuracy.
WATCHED = {
    dg.AssetCheckKey(FEATURE_DRIFT, FEATURE_DRIFT_CHECK): "demand_forecaster",
    dg.AssetCheckKey(MODEL_PERFORMANCE, MODEL_PERFORMANCE_CHECK): "demand_forecaster",
}


def _failures(instance: dg.DagsterInstance) -> list[CheckFailure]:
    failures = []
    for key, model in WATCHED.items():
        record = instance.get_latest_asset_check_evaluation_record(key)
        evaluation = record.evaluation if record else None
        if record is None or evaluation is None or evaluation.passed:
            continue
        measured = evaluation.metadata.get(MEASURED)
        failures.append(
            CheckFailure(
                check=f"{key.asset_key.to_user_string()}:{key.name}",
                model=model,
                partition=record.partition,
                value=float(measured.value) if measured is not None else None,
                severity=evaluation.severity.value,
                record_id=record.id,
            )
        )
    return failures


@dg.sensor(
    job=retrain_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Launches retrain_job when feature_drift_check or model_performance_check fails with "
        "ERROR: once per failure (run keys), never twice for a model within the cooldown."
    ),
)
def retrain_sensor(
    context: dg.SensorEvaluationContext, monitoring_policy: MonitoringPolicy
) -> dg.SensorResult:
    state = RetrainState.loads(context.cursor)
    requests, skipped = decide(
        _failures(context.instance),
        state,
        datetime.now(UTC),
        timedelta(hours=monitoring_policy.retrain_cooldown_hours),
    )
    for reason in skipped:
        context.log.info(f"no retrain: {reason}")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=r.run_key,
                tags={
                    "mlplatform/trigger": r.trigger,
                    "mlplatform/partition": r.partition or "",
                    "mlplatform/measured_value": "" if r.value is None else f"{r.value:.6g}",
                    "mlplatform/model": r.model,
                },
            )
            for r in requests
        ],
        cursor=state.dumps(),
    )


RAW_ASSETS = [dg.AssetKey(["raw", "cloudwatch_metrics"]), dg.AssetKey(["raw", "cost_usage"])]


@dg.sensor(
    asset_selection=dg.AssetSelection.assets(*RAW_ASSETS),
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="A new or changed file in landing/<source>/<day>/ re-ingests that day's partition.",
)
def landing_sensor(context: dg.SensorEvaluationContext, landing: LandingZone) -> dg.SensorResult:
    seen: dict[str, float] = json.loads(context.cursor) if context.cursor else {}
    partitions = set(daily_partitions.get_partition_keys())
    requests, newest = [], dict(seen)
    for day, (folder, latest) in landing.latest_arrivals().items():
        if latest <= seen.get(day, 0.0):
            continue
        newest[day] = latest
        if day not in partitions:
            context.log.warning(f"{folder}: {day} is not a partition of this deployment; skipped")
            continue
        requests.append(day)
    run_requests = [
        dg.RunRequest(partition_key=day, run_key=f"landing:{day}:{newest[day]:.6f}")
        for day in sorted(set(requests))
    ]
    return dg.SensorResult(run_requests=run_requests, cursor=json.dumps(newest, sort_keys=True))
