"""Serving layer: daily batch predictions of each champion, every row naming its model version."""

import dagster as dg
import polars as pl

from mlplatform.automation.partitions import batched, daily_partitions
from mlplatform.defs.common import (
    OWNERS,
    Days,
    history_span,
    partition_days,
    read_observations,
    read_with_history,
)
from mlplatform.defs.keys import (
    ANOMALY_ALERTS,
    ANOMALY_INCIDENTS,
    ANOMALY_MODEL,
    COST_DAILY,
    COST_FEATURES,
    COST_FORECASTS,
    COST_MODEL,
    COST_RECOMMENDATIONS,
    DEMAND_FORECASTS,
    DEMAND_MODEL,
    METRICS_HOURLY,
    OTHER_METRICS_HOURLY,
    RESOURCE_FEATURES,
)
from mlplatform.defs.metadata import by_day, incidents_markdown
from mlplatform.lib.ingest.catalog import METRICS
from mlplatform.lib.models.detector import DetectorSettings
from mlplatform.lib.models.detector_tables import alerts_by_day, history_days
from mlplatform.lib.models.forecasting import (
    COST,
    DEMAND,
    ForecastSpec,
    serving_lookback_days,
)
from mlplatform.lib.models.registry import CHAMPION
from mlplatform.lib.serving.forecasts import served_forecasts
from mlplatform.lib.serving.incidents import SEVERITIES, incidents, resource_groups
from mlplatform.lib.serving.recommendations import rightsizing
from mlplatform.resources.models import LakeReader, ModelRegistry


def _champion(registry: ModelRegistry, name: str):
    store = registry.open()
    champion = store.by_alias(name, CHAMPION)
    if champion is None:
        raise dg.Failure(f"{name} has no champion yet: materialize models/{name} first")
    return champion, store.load(name, champion.version), store.metadata(name, champion.version)


def _forecasts(
    context: dg.AssetExecutionContext,
    spec: ForecastSpec,
    source: dg.AssetKey,
    lake_reader: LakeReader,
    registry: ModelRegistry,
) -> Days:
    history = read_with_history(context, lake_reader, source, serving_lookback_days(spec))
    try:
        served = served_forecasts(registry.open(), spec, history, partition_days(context))
    except LookupError as exc:
        raise dg.Failure(str(exc)) from exc
    if not served.champion:
        context.log.warning(
            f"{spec.name} has no champion (no model has beaten naive yet): serving {served.by}"
        )
    return {day.isoformat(): table for day, table in served.tables.items()}


_SERVING = {
    "group_name": "serving",
    "partitions_def": daily_partitions,
    "owners": OWNERS,
    "io_manager_key": "lake",
    "backfill_policy": batched,
}


@dg.asset(
    key=DEMAND_FORECASTS,
    deps=[RESOURCE_FEATURES, DEMAND_MODEL],
    description=(
        "request_count 1-4 hours ahead from every hour of the day, by the champion (its inputs "
        "read the day's features and the week before)."
    ),
    kinds={"lightgbm", "polars", "parquet"},
    **_SERVING,
)
def demand_forecasts(
    context: dg.AssetExecutionContext, lake_reader: LakeReader, registry: ModelRegistry
) -> dg.Output[Days]:
    out = _forecasts(context, DEMAND, RESOURCE_FEATURES, lake_reader, registry)
    version = next((f["model_version"][0] for f in out.values() if f.height), "")
    return dg.Output(out, metadata={"model_version": version})


@dg.asset(
    key=COST_FORECASTS,
    deps=[COST_FEATURES, COST_MODEL],
    description="Daily cost per account and service 1-7 days ahead, by the champion.",
    kinds={"lightgbm", "polars", "parquet"},
    **_SERVING,
)
def cost_forecasts(
    context: dg.AssetExecutionContext, lake_reader: LakeReader, registry: ModelRegistry
) -> dg.Output[Days]:
    out = _forecasts(context, COST, COST_FEATURES, lake_reader, registry)
    return dg.Output(
        out,
        metadata=by_day(
            {
                day: {
                    "forecast_total_7d": float(f.filter(pl.col("horizon") <= 7)["forecast"].sum())
                }
                for day, f in out.items()
            }
        ),
    )


@dg.asset(
    key=ANOMALY_ALERTS,
    deps=[METRICS_HOURLY, OTHER_METRICS_HOURLY, ANOMALY_MODEL],
    description=(
        "Every metric of every resource scored hour by hour by the champion anomaly detector, "
        "from the day and the history its memory needs; one row per alert naming resource, "
        "metric, time, value, score and the signal that fired."
    ),
    kinds={"lightgbm", "polars", "parquet"},
    **_SERVING,
)
def anomaly_alerts(
    context: dg.AssetExecutionContext, lake_reader: LakeReader, registry: ModelRegistry
) -> dg.Output[Days]:
    champion, booster, meta = _champion(registry, "anomaly_detector")
    settings = DetectorSettings(**meta["settings"])
    days = partition_days(context)
    span = history_span(context, lake_reader, METRICS_HOURLY, history_days(settings))
    observed = read_observations(lake_reader, span)
    alerts, scored = alerts_by_day(observed, days, booster, settings)
    version = pl.lit(f"anomaly_detector/{champion.version}")
    out = {d.isoformat(): frame.with_columns(model_version=version) for d, frame in alerts.items()}
    figures = {
        d.isoformat(): {
            "alerts": frame.height,
            "scored_rows": scored[d],
            # one figure per catalog metric; any number of others share one, to keep it short
            **{f"alerts_{m}": int((frame["metric"] == m).sum()) for m in METRICS},
            "alerts_other_metrics": int((~frame["metric"].is_in(METRICS)).sum()),
        }
        for d, frame in alerts.items()
    }
    return dg.Output(out, metadata=by_day(figures))


@dg.asset(
    key=ANOMALY_INCIDENTS,
    ins={"alerts": dg.AssetIn(ANOMALY_ALERTS), "hourly": dg.AssetIn(METRICS_HOURLY)},
    deps=[OTHER_METRICS_HOURLY],
    description=(
        "The day's alerts that belong together, as one incident each: the metrics of one "
        "resource that move within the same hours, the resources of one service and region "
        "that move together, or the whole fleet at once (the calendar, a warning). Each has a "
        "severity, its series, the series that moved first and a link; a lone weak alert is "
        "no incident. Alert delivery sends these."
    ),
    kinds={"polars", "parquet"},
    **_SERVING,
)
def anomaly_incidents(
    context: dg.AssetExecutionContext, alerts: Days, hourly: Days, lake_reader: LakeReader
) -> dg.Output[Days]:
    other_days = set(lake_reader.partitions(*OTHER_METRICS_HOURLY.path))
    out, figures = {}, {}
    for day, day_alerts in alerts.items():
        other = lake_reader.read(*OTHER_METRICS_HOURLY.path, [day]) if day in other_days else None
        groups = resource_groups(hourly[day], other)
        out[day] = incidents(day_alerts, groups)
        figures[day] = {
            "incidents": out[day].height,
            **{f"incidents_{s}": int((out[day]["severity"] == s).sum()) for s in SEVERITIES},
            "alerts": day_alerts.height,
        }
    context.log.info(f"{sum(f.height for f in out.values())} incident(s) over {len(out)} day(s)")
    last = max(out)
    shown = {"most_severe": dg.MetadataValue.md(incidents_markdown(out[last], last))}
    return dg.Output(out, metadata=by_day(figures) | shown)


@dg.asset(
    key=COST_RECOMMENDATIONS,
    ins={
        "features": dg.AssetIn(RESOURCE_FEATURES),
        "forecasts": dg.AssetIn(DEMAND_FORECASTS),
        "cost": dg.AssetIn(COST_DAILY),
    },
    description=(
        "Rightsizing: resources whose 24-hour p95 CPU stays under 20 % all day and whose "
        "forecast demand does not rise, with the expected monthly saving of one size down."
    ),
    kinds={"polars", "parquet"},
    **_SERVING,
)
def cost_recommendations(features: Days, forecasts: Days, cost: Days) -> dg.Output[Days]:
    out, figures = {}, {}
    for day, frame in features.items():
        day_forecasts = forecasts[day]
        version = day_forecasts["model_version"][0] if day_forecasts.height else None
        out[day] = rightsizing(frame, day_forecasts, cost[day]).with_columns(
            model_version=pl.lit(version, dtype=pl.String)
        )
        figures[day] = {
            "recommendations": out[day].height,
            "monthly_saving_total": float(out[day]["monthly_saving"].sum()),
        }
    return dg.Output(out, metadata=by_day(figures))
