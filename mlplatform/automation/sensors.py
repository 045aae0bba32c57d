"""Sensors: landing files into raw runs, first trainings, and retrains on failing checks."""

import json
from datetime import UTC, datetime, timedelta

import dagster as dg

from mlplatform.automation.jobs import retrain_job
from mlplatform.automation.partitions import batched, daily_partitions
from mlplatform.defs.keys import RAW_COST, RAW_METRICS, model_key
from mlplatform.defs.models.assets import MODEL_INPUTS, TrainingConfig
from mlplatform.defs.monitoring.checks import (
    FEATURE_DRIFT,
    FEATURE_DRIFT_CHECK,
    MEASURED,
    MODEL_PERFORMANCE,
    MODEL_PERFORMANCE_CHECK,
    PARTITION,
)
from mlplatform.lib.ingest.landing_days import consecutive_ranges, plan_ingestion
from mlplatform.lib.ingest.open_day import closed_days
from mlplatform.lib.models.registry import CHAMPION
from mlplatform.lib.monitoring.retrain import CheckFailure, RetrainState, decide, first_trainings
from mlplatform.resources.landing import LandingZone
from mlplatform.resources.models import LakeReader, ModelRegistry
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
        # while a check runs, its latest record holds the "planned" event, not an evaluation
        evaluation = record.evaluation if record else None
        if not isinstance(evaluation, dg.AssetCheckEvaluation) or evaluation.passed:
            continue
        measured = evaluation.metadata.get(MEASURED)
        day = evaluation.metadata.get(PARTITION)  # the run's worst day
        failures.append(
            CheckFailure(
                check=f"{key.asset_key.to_user_string()}:{key.name}",
                model=model,
                partition=str(day.value) if day is not None else record.partition,
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


RAW_ASSETS = [RAW_METRICS, RAW_COST]
# A closed day with no file yet is ingested empty after this long: late files still re-ingest.
EMPTY_DAY_GRACE = timedelta(hours=2)
# Runs, not days, are what a tick must not flood the queue with; days come batched into them.
MAX_RUNS_PER_TICK = 8
MAX_DAYS_PER_TICK = MAX_RUNS_PER_TICK * (batched.max_partitions_per_run or 1)


def build_landing_sensor(
    interval_seconds: int, window_days: int, max_days_per_tick: int = MAX_DAYS_PER_TICK
) -> dg.SensorDefinition:
    """raw's one trigger. Declarative automation cannot see files arrive; this sensor does, and
    also ingests the window's closed days that received nothing, so that every day of the window
    has a raw partition and the days after a quiet one are not held up by their lookback."""

    @dg.sensor(
        name="landing_sensor",
        asset_selection=dg.AssetSelection.assets(*RAW_ASSETS),
        minimum_interval_seconds=interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "New or changed files in landing/<source>/<day>/ re-ingest that day's partition; a "
            f"closed day of the last {window_days} days with no file is ingested empty after "
            f"{EMPTY_DAY_GRACE}. At most {max_days_per_tick} days a tick, oldest first."
        ),
    )
    def landing_sensor(
        context: dg.SensorEvaluationContext, landing: LandingZone
    ) -> dg.SensorResult:
        now = datetime.now(UTC)
        seen: dict[str, float] = json.loads(context.cursor) if context.cursor else {}
        arrivals = landing.latest_arrivals()
        plan = plan_ingestion(
            arrivals={day: latest for day, (_, latest) in arrivals.items()},
            seen=seen,
            partitions=daily_partitions.get_partition_keys(current_time=now),
            window_start=(now - timedelta(days=window_days)).date().isoformat(),
            empty_due_through=(now - EMPTY_DAY_GRACE - timedelta(days=1)).date().isoformat(),
            max_days=max_days_per_tick,
        )
        for day in plan.outside:
            context.log.warning(
                f"{arrivals[day][0]}: {day} is not a partition of the last {window_days} days; "
                "not ingested (backfill it from the UI to take it in)"
            )
        if plan.empty:
            context.log.info(f"no landing files for {', '.join(plan.empty)}: ingested empty")
        if plan.deferred:
            context.log.info(f"{plan.deferred} more day(s) next tick")
        ranges = consecutive_ranges(plan.days, batched.max_partitions_per_run or len(plan.days))
        return dg.SensorResult(
            run_requests=[_ingestion_request(first, last, plan.seen) for first, last in ranges],
            cursor=json.dumps(plan.seen, sort_keys=True),
        )

    return landing_sensor


def _ingestion_request(first: str, last: str, seen: dict[str, float]) -> dg.RunRequest:
    """One run for consecutive days; its key changes whenever a day of it has new files."""
    newest = max(t for d, t in seen.items() if first <= d <= last)
    if first == last:
        return dg.RunRequest(partition_key=first, run_key=f"landing:{first}:{newest:.6f}")
    return dg.RunRequest(
        run_key=f"landing:{first}..{last}:{newest:.6f}",
        tags={
            "dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": last,
        },
    )


_IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def build_first_training_sensor(interval_seconds: int) -> dg.SensorDefinition:
    """A model that has never had a champion trains as soon as its input has
    `min_training_days` partitions, so serving and monitoring can start with nobody clicking."""
    min_days = TrainingConfig().min_training_days

    @dg.sensor(
        name="first_training_sensor",
        job=retrain_job,
        minimum_interval_seconds=interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Trains each model that has no champion yet once its input has "
            f"{min_days} materialized partitions (min_training_days); a forecaster refused "
            "for not beating naive tries again each time its input gains a partition."
        ),
    )
    def first_training_sensor(
        context: dg.SensorEvaluationContext, lake_reader: LakeReader, registry: ModelRegistry
    ) -> dg.SensorResult | dg.SkipReason:
        inputs = set(MODEL_INPUTS.values())
        for run in context.instance.get_runs(filters=dg.RunsFilter(statuses=_IN_FLIGHT)):
            if run.job_name == retrain_job.name:
                return dg.SkipReason("a retrain_job run is queued or running")
            if inputs & set(run.asset_selection or ()):
                # the catch-up is still writing the training data: train once, on all of it
                return dg.SkipReason(f"run {run.run_id} is still building a model input")
        input_days = {
            model: len(closed_days(lake_reader.partitions(*key.path)))
            for model, key in MODEL_INPUTS.items()
        }
        store = registry.open()
        with_champion = {m for m in MODEL_INPUTS if store.by_alias(m, CHAMPION) is not None}
        # the input's partition count at each model's last attempt
        attempted: dict[str, int] = json.loads(context.cursor) if context.cursor else {}
        due = first_trainings(input_days, with_champion, min_days, attempted)
        if not due:
            waiting = {m: d for m, d in input_days.items() if m not in with_champion}
            return dg.SkipReason(
                f"no model waits for its first training (partitions of its input: {waiting}; "
                f"at the last attempt: {attempted})"
                if waiting
                else "every model has a champion"
            )
        days = min(input_days[m] for m in due)
        attempted |= {m: input_days[m] for m in due}
        return dg.SensorResult(
            cursor=json.dumps(attempted, sort_keys=True),
            run_requests=[
                dg.RunRequest(
                    # one attempt per model set and amount of data: a failed first training is
                    # tried again when another partition lands, not in a loop
                    run_key=f"first_training:{'+'.join(due)}:{days}",
                    asset_selection=[model_key(m) for m in due],
                    tags={
                        "mlplatform/trigger": "first_training",
                        "mlplatform/model": ",".join(due),
                    },
                )
            ],
        )

    return first_training_sensor
