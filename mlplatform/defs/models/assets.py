"""Models layer: LightGBM models trained on a trailing window of partitions, registered in
MLflow, promoted from challenger to champion only when they beat it."""

import dagster as dg
from pydantic import Field

from mlplatform.defs.common import OWNERS, read_observations
from mlplatform.defs.keys import (
    ANOMALY_MODEL,
    COST_FEATURES,
    METRICS_HOURLY,
    OTHER_METRICS_HOURLY,
    RESOURCE_FEATURES,
    model_key,
)
from mlplatform.lib.ingest.open_day import closed_days
from mlplatform.lib.models.forecasting import COST, DEMAND, ForecastSpec
from mlplatform.lib.models.promotion import train_and_challenge, train_and_challenge_anomaly
from mlplatform.lib.models.registry import input_fingerprint
from mlplatform.lib.models.training import SearchBudget
from mlplatform.resources.models import LakeReader, ModelRegistry

DATA_VERSION_TAG = "dagster/data_version"  # the tag Dagster records each data version under
# The partitioned table each model trains on.
MODEL_INPUTS = {
    "demand_forecaster": RESOURCE_FEATURES,
    "cost_forecaster": COST_FEATURES,
    "anomaly_detector": METRICS_HOURLY,
}


class TrainingConfig(dg.Config):
    training_days: int = Field(default=28, description="Daily partitions in the training window.")
    min_training_days: int = Field(
        default=7, description="Fewer partitions than this and training refuses to run."
    )
    search_trials: int = Field(default=20, description="Optuna trials at most.")
    search_timeout_seconds: float = Field(default=120.0, description="Search time budget.")
    promotion_margin: float = Field(
        default=0.02,
        description="A challenger must beat the champion's error by this fraction to be promoted.",
    )
    seed: int = Field(default=7, description="Seed of the search and of subsampling.")


def _window(
    context: dg.AssetExecutionContext, lake: LakeReader, key: dg.AssetKey, config: TrainingConfig
) -> tuple[list[str], str]:
    layer, name = key.path
    available = closed_days(lake.partitions(layer, name))  # the open day is still filling
    days = available[-config.training_days :]
    if len(days) < config.min_training_days:
        raise dg.Failure(
            f"{key.to_user_string()} has {len(days)} materialized partition(s); training needs "
            f"at least {config.min_training_days} (min_training_days)"
        )
    if len(days) < config.training_days:
        context.log.warning(
            f"young deployment: training on {len(days)} of {config.training_days} days"
        )
    return days, _input_data_version(context, key, days)


def _input_data_version(
    context: dg.AssetExecutionContext, key: dg.AssetKey, days: list[str]
) -> str:
    """A fingerprint of the data versions Dagster recorded for the window's partitions, so a
    re-materialized partition gives the model a new data version (the partition names alone
    would not). A partition written outside Dagster counts by its name."""
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=days), limit=20 * len(days)
    ).records
    latest: dict[str, str] = {}
    for record in records:  # newest first
        event = record.asset_materialization
        if event is not None and event.partition not in latest:
            latest[str(event.partition)] = event.tags.get(DATA_VERSION_TAG, str(record.storage_id))
    return input_fingerprint({day: latest.get(day, "unrecorded") for day in days})


def _forecaster(spec: ForecastSpec, source: dg.AssetKey, description: str):
    @dg.asset(
        key=model_key(spec.name),
        group_name="models",
        deps=[source],
        description=description,
        owners=OWNERS,
        kinds={"lightgbm", "optuna", "mlflow"},
    )
    def train_forecaster(
        context: dg.AssetExecutionContext,
        config: TrainingConfig,
        lake_reader: LakeReader,
        registry: ModelRegistry,
    ) -> dg.MaterializeResult:
        days, data_version = _window(context, lake_reader, source, config)
        table = lake_reader.read(*source.path, days)
        budget = SearchBudget(
            trials=config.search_trials,
            timeout_seconds=config.search_timeout_seconds,
            seed=config.seed,
        )
        outcome = train_and_challenge(
            registry.open(),
            spec,
            table,
            budget,
            config.promotion_margin,
            metadata={
                "dagster_run_id": context.run.run_id,
                "data_version": data_version,
                "training_window": f"{days[0]}..{days[-1]}",
                "training_days": len(days),
            },
        )
        decision, metrics = outcome.decision, outcome.trained.metrics
        context.log.info(f"{spec.name} v{outcome.version.version}: {decision.reason}")
        return dg.MaterializeResult(
            metadata={
                "registry_version": outcome.version.version,
                "aliases": ", ".join(outcome.version.aliases),
                "promoted": decision.promote,
                "promotion_reason": decision.reason,
                "challenger_mae": decision.challenger_score,
                "champion_mae": decision.champion_score
                if decision.champion_score is not None
                else float("nan"),
                "mae": float(metrics["mae"]),
                "smape": float(metrics["smape"]),
                "mae_relative_to_best_baseline": float(metrics["mae_relative_to_best_baseline"]),
                "best_baseline": str(metrics["best_baseline"]),
                "mae_relative_to_naive_fallback": float(metrics["mae_relative_to_naive_fallback"]),
                "naive_fallback": str(metrics["naive_fallback"]),
                "cv_mae": float(metrics["cv_mae"]),
                "training_window": f"{days[0]}..{days[-1]}",
                "training_days": len(days),
                "young_deployment": len(days) < config.training_days,
                "search_trials": outcome.trained.search_trials,
            },
            data_version=dg.DataVersion(data_version),
        )

    return train_forecaster


demand_forecaster = _forecaster(
    DEMAND,
    RESOURCE_FEATURES,
    "Per-resource request_count 1 to 4 hours ahead (predictive scaling): one LightGBM model "
    "over all horizons, trained on the last `training_days` partitions with time-ordered CV "
    "and a seeded Optuna search, measured against last value, same hour yesterday and same "
    "hour last week.",
)
cost_forecaster = _forecaster(
    COST,
    COST_FEATURES,
    "Daily cost per account and service, 1 to 7 days ahead, trained like the demand "
    "forecaster and measured against last value and same day last week.",
)


@dg.asset(
    key=ANOMALY_MODEL,
    group_name="models",
    deps=[METRICS_HOURLY, OTHER_METRICS_HOURLY],
    description=(
        "The anomaly detector's one-step model: LightGBM over the hour-to-hour change of every "
        "metric of every resource (both clean hourly tables), pooled and scale-free. Serving "
        "scores each series with it and two more label-free signals (shape novelty, range); "
        "the settings travel with the version. The same detector runs `mlplatform detect`."
    ),
    owners=OWNERS,
    kinds={"lightgbm", "mlflow"},
)
def anomaly_detector(
    context: dg.AssetExecutionContext,
    config: TrainingConfig,
    lake_reader: LakeReader,
    registry: ModelRegistry,
) -> dg.MaterializeResult:
    # clean_partition writes both metric tables in one step, so metrics_hourly's data versions
    # change whenever other_metrics_hourly's do: they fingerprint the window for both
    days, data_version = _window(context, lake_reader, METRICS_HOURLY, config)
    if len(days) < 2:
        raise dg.Failure("the anomaly detector needs two days: one to train on, one to compare")
    train_days, recent_days = days[:-1], days[-1:]
    outcome = train_and_challenge_anomaly(
        registry.open(),
        history=read_observations(lake_reader, train_days),
        recent=read_observations(lake_reader, recent_days),
        margin=config.promotion_margin,
        metadata={
            "dagster_run_id": context.run.run_id,
            "data_version": data_version,
            "training_window": f"{train_days[0]}..{train_days[-1]}",
        },
    )
    decision, version = outcome.decision, outcome.version
    return dg.MaterializeResult(
        metadata={
            "registry_version": version.version,
            "aliases": ", ".join(version.aliases),
            "promoted": decision.promote,
            "promotion_reason": decision.reason,
            "recent_one_step_mae_symlog": decision.challenger_score,
            "training_window": f"{train_days[0]}..{train_days[-1]}",
        },
        data_version=dg.DataVersion(data_version),
    )
