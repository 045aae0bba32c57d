"""Serving layer: daily batch predictions of each champion, every row naming its model version."""

import dagster as dg
import polars as pl

from mlplatform.automation.partitions import daily_partitions
from mlplatform.defs.common import OWNERS
from mlplatform.lib.anomaly_model import score
from mlplatform.lib.forecasting import COST, DEMAND, ForecastSpec, build_dataset, predict
from mlplatform.lib.recommendations import rightsizing
from mlplatform.lib.registry import CHAMPION
from mlplatform.resources.models import ModelRegistry

RESOURCE_FEATURES = dg.AssetKey(["features", "resource_hourly"])
COST_FEATURES = dg.AssetKey(["features", "cost_daily"])


def _champion(registry: ModelRegistry, name: str):
    store = registry.open()
    champion = store.by_alias(name, CHAMPION)
    if champion is None:
        raise dg.Failure(f"{name} has no champion yet: materialize models/{name} first")
    return champion, store.load(name, champion.version), store.metadata(name, champion.version)


def _forecasts(spec: ForecastSpec, features: pl.DataFrame, registry: ModelRegistry) -> pl.DataFrame:
    champion, booster, _ = _champion(registry, spec.name)
    dataset = build_dataset(features, spec, with_target=False)
    dataset.features = booster.feature_name()
    return dataset.frame.select(
        *spec.series,
        pl.col(spec.time).alias("origin"),
        "horizon",
        pl.col("_target_time").alias("target_time"),
    ).with_columns(
        forecast=pl.Series(predict(booster, dataset)),
        model_version=pl.lit(f"{spec.name}/{champion.version}"),
    )


_SERVING = {
    "group_name": "serving",
    "partitions_def": daily_partitions,
    "owners": OWNERS,
    "io_manager_key": "lake",
}


@dg.asset(
    key=["serving", "demand_forecasts"],
    ins={"features": dg.AssetIn(RESOURCE_FEATURES)},
    deps=[dg.AssetKey(["models", "demand_forecaster"])],
    description="request_count 1-4 hours ahead from every hour of the day, by the champion.",
    kinds={"lightgbm", "polars", "parquet"},
    **_SERVING,
)
def demand_forecasts(features: pl.DataFrame, registry: ModelRegistry) -> dg.Output[pl.DataFrame]:
    out = _forecasts(DEMAND, features, registry)
    return dg.Output(out, metadata={"model_version": out["model_version"][0] if out.height else ""})


@dg.asset(
    key=["serving", "cost_forecasts"],
    ins={"features": dg.AssetIn(COST_FEATURES)},
    deps=[dg.AssetKey(["models", "cost_forecaster"])],
    description="Daily cost per account and service 1-7 days ahead, by the champion.",
    kinds={"lightgbm", "polars", "parquet"},
    **_SERVING,
)
def cost_forecasts(features: pl.DataFrame, registry: ModelRegistry) -> dg.Output[pl.DataFrame]:
    out = _forecasts(COST, features, registry)
    return dg.Output(
        out,
        metadata={"forecast_total_7d": float(out.filter(pl.col("horizon") <= 7)["forecast"].sum())},
    )


@dg.asset(
    key=["serving", "anomaly_alerts"],
    ins={"features": dg.AssetIn(RESOURCE_FEATURES)},
    deps=[dg.AssetKey(["models", "anomaly_detector"])],
    description="Hours whose request_count the champion anomaly detector flags, with scores.",
    kinds={"lightgbm", "polars", "parquet"},
    **_SERVING,
)
def anomaly_alerts(features: pl.DataFrame, registry: ModelRegistry) -> dg.Output[pl.DataFrame]:
    champion, booster, meta = _champion(registry, "anomaly_detector")
    scored = score(booster, features, meta["scale"], meta["threshold"])
    alerts = scored.filter("is_anomaly").with_columns(
        model_version=pl.lit(f"anomaly_detector/{champion.version}")
    )
    return dg.Output(alerts, metadata={"alerts": alerts.height, "scored_rows": scored.height})


@dg.asset(
    key=["serving", "cost_recommendations"],
    ins={
        "features": dg.AssetIn(RESOURCE_FEATURES),
        "forecasts": dg.AssetIn(dg.AssetKey(["serving", "demand_forecasts"])),
        "cost": dg.AssetIn(dg.AssetKey(["clean", "cost_daily"])),
    },
    description=(
        "Rightsizing: resources whose 24-hour p95 CPU stays under 20 % all day and whose "
        "forecast demand does not rise, with the expected monthly saving of one size down."
    ),
    kinds={"polars", "parquet"},
    **_SERVING,
)
def cost_recommendations(
    features: pl.DataFrame, forecasts: pl.DataFrame, cost: pl.DataFrame
) -> dg.Output[pl.DataFrame]:
    out = rightsizing(features, forecasts, cost).with_columns(
        model_version=pl.lit(
            forecasts["model_version"][0] if forecasts.height else None, dtype=pl.String
        )
    )
    return dg.Output(
        out,
        metadata={
            "recommendations": out.height,
            "monthly_saving_total": float(out["monthly_saving"].sum()),
        },
    )
