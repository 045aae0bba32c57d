"""Monitoring layer: Evidently drift reports and live accuracy, per daily partition."""

from collections.abc import Iterator
from typing import Any

import dagster as dg
import polars as pl

from mlplatform.automation.partitions import batched, daily_partitions
from mlplatform.defs.common import OWNERS, Days, partition_days, read_with_history
from mlplatform.defs.keys import (
    ANOMALY_ALERTS,
    COST_FEATURES,
    COST_MODEL,
    DEMAND_FORECASTS,
    DEMAND_MODEL,
    FEATURE_DRIFT,
    MODEL_PERFORMANCE,
    RESOURCE_FEATURES,
)
from mlplatform.defs.metadata import json_metadata
from mlplatform.defs.monitoring.checks import (
    FEATURE_DRIFT_SPEC,
    MODEL_PERFORMANCE_SPEC,
    worst_day_result,
)
from mlplatform.lib.ingest.simulator import read_labels
from mlplatform.lib.models.forecasting import (
    COST,
    DEMAND,
    day_dataset,
    due_dataset,
    due_lookback_days,
    lookback_days,
)
from mlplatform.lib.models.registry import CHAMPION
from mlplatform.lib.monitoring.drift import (
    DriftSummary,
    InsufficientHistory,
    reference_days,
    with_predictions,
)
from mlplatform.lib.monitoring.drift import feature_drift as measure_drift
from mlplatform.lib.monitoring.performance import (
    alert_quality,
    forecast_performance,
    served_performance,
)
from mlplatform.resources.landing import LandingZone
from mlplatform.resources.models import LakeReader, ModelRegistry
from mlplatform.resources.monitoring import MonitoringPolicy, Reports

NOT_MEASURED = "not_measured"


def _champion_window(registry: ModelRegistry) -> str | None:
    store = registry.open()
    champion = store.by_alias("demand_forecaster", CHAMPION)
    if champion is None:
        return None
    return store.metadata("demand_forecaster", champion.version).get("training_window") or None


def _day_metadata(figures: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One day: its figures as they are. Several: the last day's, and every day's as JSON."""
    last = figures[max(figures)]
    if len(figures) == 1:
        return last
    plain = {
        day: {k: v.value if isinstance(v, dg.MetadataValue) else v for k, v in f.items()}
        for day, f in figures.items()
    }
    return {**{f"latest_{k}": v for k, v in last.items()}, "by_partition": json_metadata(plain)}


_MONITORING = {
    "group_name": "monitoring",
    "partitions_def": daily_partitions,
    "owners": OWNERS,
    "io_manager_key": "lake",
    "backfill_policy": batched,
}


def _served(lake_reader: LakeReader, key: dg.AssetKey, days: list[str]) -> pl.DataFrame | None:
    """What a champion served on `days` (`key`: a serving asset); None unless it served
    every one of them, so a partly served window is not read as a quiet one."""
    layer, name = key.path
    if not days or not set(days) <= set(lake_reader.partitions(layer, name)):
        return None
    return lake_reader.read(layer, name, sorted(days))


def _predictions(lake_reader: LakeReader, features: pl.DataFrame, days: list[str]):
    return with_predictions(
        features,
        _served(lake_reader, DEMAND_FORECASTS, days),
        _served(lake_reader, ANOMALY_ALERTS, days),
    )


def _drift_figures(summary: DriftSummary, days: tuple[str, ...], report, url: str):
    return {
        "summary": summary.headline(),
        "drift_share": summary.share,
        "signal_drift": summary.signal[1],
        "most_moved_metric": summary.signal[0],
        "family_distances": json_metadata(summary.families),
        "compared_columns": len(summary.scores),
        "drifted_columns": ", ".join(summary.drifted) or "none",
        "scores": json_metadata(summary.scores),
        "segments": json_metadata(summary.segments),
        "missing_shares": json_metadata({c: m[0] for c, m in summary.missing.items() if m[0]}),
        "out_of_range": json_metadata(summary.out_of_range),
        "new_categories": json_metadata(summary.new_categories),
        "not_compared": json_metadata(summary.not_compared),
        "reference_window": f"{days[0]}..{days[-1]}",
        "report": dg.MetadataValue.url(url),
        "report_path": dg.MetadataValue.path(str(report)),
    }


@dg.asset(
    key=FEATURE_DRIFT,
    ins={"features": dg.AssetIn(RESOURCE_FEATURES)},
    deps=[DEMAND_MODEL, DEMAND_FORECASTS, ANOMALY_ALERTS],
    check_specs=[FEATURE_DRIFT_SPEC],
    description=(
        "Evidently report of the day's model inputs against the champion's training window (the"
        " window's days of the same weekday, so daily and weekly cycles are on both sides): "
        "drift of every numeric feature, of the service and region mix, of the champion demand "
        "forecasts and of the anomaly alert rate, with missing values, out-of-range values and "
        "new categories, and where drift is concentrated by service and region. One row per "
        "column; the self-contained HTML report is linked. Days with too little history to "
        "compare are 'not measured', not failed."
    ),
    kinds={"evidently", "polars", "parquet"},
    **_MONITORING,
)
def feature_drift(
    context: dg.AssetExecutionContext,
    features: Days,
    lake_reader: LakeReader,
    registry: ModelRegistry,
    reports: Reports,
    monitoring_policy: MonitoringPolicy,
) -> Iterator[dg.Output[Days] | dg.AssetCheckResult]:
    available = lake_reader.partitions("features", "resource_hourly")
    window = _champion_window(registry)
    references: dict[tuple[str, ...], pl.DataFrame] = {}  # days of a range share one reference
    out, figures, measured, notes = {}, {}, {}, {}
    for day, current in features.items():
        days = tuple(reference_days(available, window, day))
        try:
            if not days:
                raise InsufficientHistory(f"no feature partitions before {day} to compare with")
            if days not in references:
                references[days] = _predictions(
                    lake_reader, lake_reader.read("features", "resource_hourly", list(days)), days
                )
            with reports.writing("feature_drift", day) as html:
                summary = measure_drift(
                    references[days], _predictions(lake_reader, current, [day]), html
                )
        except InsufficientHistory as exc:
            # a young deployment's first week: nothing to measure yet, which is no failure
            context.log.warning(f"drift not measured for {day}: {exc}")
            out[day] = DriftSummary(float("nan"), [], {}, 0, 0).as_frame()
            figures[day], measured[day] = {NOT_MEASURED: str(exc)}, None
            continue
        report = reports.target("feature_drift", day)
        out[day], measured[day] = summary.as_frame(), summary.figures()
        notes[day] = f"most moved metric: {summary.signal[0]}"
        figures[day] = _drift_figures(summary, days, report, reports.url(report))
        context.log.info(f"{day}: {summary.headline()}")
    yield dg.Output(out, metadata=_day_metadata(figures))
    yield worst_day_result(FEATURE_DRIFT_SPEC, measured, monitoring_policy.drift(), notes)


@dg.asset(
    key=MODEL_PERFORMANCE,
    ins={"alerts": dg.AssetIn(ANOMALY_ALERTS)},
    deps=[RESOURCE_FEATURES, DEMAND_MODEL, DEMAND_FORECASTS, COST_FEATURES, COST_MODEL],
    check_specs=[MODEL_PERFORMANCE_SPEC],
    description=(
        "Once a day's actuals are in: the champion demand forecaster's MAE on that day against "
        "the naive baselines and its own training MAE, and what serving gave that day "
        "(`served_*`: by the model in force then, on the same forecasts); the same for the cost "
        "forecaster's forecasts of the week before that fall on the day (`cost_*`); anomaly "
        "alerts against the simulator's labels where a labels file exists. A forecaster "
        "without a champion (none has beaten naive yet, so serving is naive) is not scored."
    ),
    kinds={"lightgbm", "polars", "parquet"},
    **_MONITORING,
)
def model_performance(
    context: dg.AssetExecutionContext,
    alerts: Days,
    lake_reader: LakeReader,
    registry: ModelRegistry,
    landing: LandingZone,
    monitoring_policy: MonitoringPolicy,
) -> Iterator[dg.Output[Days] | dg.AssetCheckResult]:
    store = registry.open()
    champion = store.by_alias("demand_forecaster", CHAMPION)
    booster = None
    if champion is None:  # serving is naive until a model beats it: nothing of ours to score
        context.log.warning("demand_forecaster has no champion: its forecasts are not scored")
    else:
        booster = store.load("demand_forecaster", champion.version)
    history = read_with_history(context, lake_reader, RESOURCE_FEATURES, lookback_days(DEMAND))
    cost_champion = store.by_alias(COST.name, CHAMPION)
    cost_booster, cost_history = None, None
    if cost_champion is not None:  # no champion, no forecasts of the week before to score
        cost_booster = store.load(COST.name, cost_champion.version)
        cost_history = read_with_history(
            context, lake_reader, COST_FEATURES, due_lookback_days(COST)
        )
    out, figures, ratios = {}, {}, {}
    for when in partition_days(context):
        day = when.isoformat()
        metrics = {}
        if booster is not None:
            demand = day_dataset(DEMAND, history, when)
            metrics = forecast_performance(booster, demand, dict(champion.metrics))
            served = _served(lake_reader, DEMAND_FORECASTS, [day])
            if served is not None:
                metrics |= served_performance(served, demand)
        due = due_dataset(COST, cost_history, when) if cost_history is not None else None
        if due is not None and due.frame.height:
            cost = forecast_performance(cost_booster, due, dict(cost_champion.metrics))
            metrics |= {f"cost_{k}": v for k, v in cost.items()}
        labels_file = landing.labels(when)
        if labels_file.exists():
            quality = alert_quality(alerts[day], read_labels(labels_file))
            metrics |= {f"alerts_{k}": v for k, v in quality.items()}
        row = {k: v for k, v in metrics.items() if isinstance(v, int | float)}
        version = champion.version if champion is not None else None
        out[day] = pl.DataFrame([{**row, "model_version": version}])
        ratios[day] = None
        if "skill_ratio_to_training" in row:
            ratios[day] = {"skill_ratio": float(row["skill_ratio_to_training"])}
        figures[day] = {
            **row,
            "model_version": version if version is not None else "none (naive serves)",
            "best_baseline": str(metrics.get("best_baseline")),
        }
    yield dg.Output(out, metadata=_day_metadata(figures))
    yield worst_day_result(MODEL_PERFORMANCE_SPEC, ratios, monitoring_policy.performance())
