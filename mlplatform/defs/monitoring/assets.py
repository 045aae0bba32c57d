"""Monitoring layer: Evidently drift reports and live accuracy, per daily partition."""

from collections.abc import Iterator
from typing import Any

import dagster as dg
import polars as pl

from mlplatform.automation.partitions import batched, daily_partitions
from mlplatform.defs.common import OWNERS, Days, partition_days, read_with_history
from mlplatform.defs.keys import (
    ANOMALY_ALERTS,
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
from mlplatform.lib.models.forecasting import DEMAND, day_dataset, lookback_days
from mlplatform.lib.models.registry import CHAMPION
from mlplatform.lib.monitoring.drift import (
    DriftSummary,
    InsufficientHistory,
    reference_days,
    with_predictions,
)
from mlplatform.lib.monitoring.drift import feature_drift as measure_drift
from mlplatform.lib.monitoring.performance import alert_quality, demand_performance
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


def _forecasts(lake_reader: LakeReader, days: list[str]) -> pl.DataFrame | None:
    """The champion's demand forecasts made on `days`, where serving has them."""
    served = set(lake_reader.partitions("serving", "demand_forecasts")) & set(days)
    return lake_reader.read("serving", "demand_forecasts", sorted(served)) if served else None


def _drift_figures(summary: DriftSummary, days: tuple[str, ...], report, url: str):
    return {
        "summary": summary.headline(),
        "drift_share": summary.share,
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
    deps=[DEMAND_MODEL, DEMAND_FORECASTS],
    check_specs=[FEATURE_DRIFT_SPEC],
    description=(
        "Evidently report of the day's model inputs against the champion's training window "
        "(the window's days of the same weekday, so daily and weekly cycles are on both "
        "sides): drift of every numeric feature, of the service and region mix and of the "
        "champion's demand forecasts, with missing values, out-of-range values and new "
        "categories, and where drift is concentrated by service and region. One row per "
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
    current_forecasts = _forecasts(lake_reader, list(features))
    out, figures, shares = {}, {}, {}
    for day, current in features.items():
        days = tuple(reference_days(available, window, day))
        try:
            if not days:
                raise InsufficientHistory(f"no feature partitions before {day} to compare with")
            if days not in references:
                references[days] = with_predictions(
                    lake_reader.read("features", "resource_hourly", list(days)),
                    _forecasts(lake_reader, list(days)),
                )
            of_day = None
            if current_forecasts is not None:
                of_day = current_forecasts.filter(pl.col("origin").dt.date().cast(pl.String) == day)
            with reports.writing("feature_drift", day) as html:
                summary = measure_drift(references[days], with_predictions(current, of_day), html)
        except InsufficientHistory as exc:
            # a young deployment's first week: nothing to measure yet, which is no failure
            context.log.warning(f"drift not measured for {day}: {exc}")
            out[day] = DriftSummary(float("nan"), [], {}, 0, 0).as_frame()
            figures[day], shares[day] = {NOT_MEASURED: str(exc)}, None
            continue
        report = reports.target("feature_drift", day)
        out[day], shares[day] = summary.as_frame(), summary.share
        figures[day] = _drift_figures(summary, days, report, reports.url(report))
        context.log.info(f"{day}: {summary.headline()}")
    yield dg.Output(out, metadata=_day_metadata(figures))
    yield worst_day_result(FEATURE_DRIFT_SPEC, shares, monitoring_policy.drift(), "drift share")


@dg.asset(
    key=MODEL_PERFORMANCE,
    ins={"alerts": dg.AssetIn(ANOMALY_ALERTS)},
    deps=[RESOURCE_FEATURES, DEMAND_MODEL],
    check_specs=[MODEL_PERFORMANCE_SPEC],
    description=(
        "Once a day's actuals are in: the champion demand forecaster's MAE on that day against "
        "the naive baselines and its own training MAE; anomaly alerts against the simulator's "
        "labels where a labels file exists."
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
    if champion is None:
        raise dg.Failure("demand_forecaster has no champion yet")
    booster = store.load("demand_forecaster", champion.version)
    history = read_with_history(context, lake_reader, RESOURCE_FEATURES, lookback_days(DEMAND))
    out, figures, ratios = {}, {}, {}
    for when in partition_days(context):
        day = when.isoformat()
        metrics = demand_performance(
            booster, day_dataset(DEMAND, history, when), dict(champion.metrics)
        )
        labels_file = landing.labels(when)
        if labels_file.exists():
            quality = alert_quality(alerts[day], read_labels(labels_file))
            metrics |= {f"alerts_{k}": v for k, v in quality.items()}
        row = {k: v for k, v in metrics.items() if isinstance(v, int | float)}
        out[day] = pl.DataFrame([{**row, "model_version": champion.version}])
        ratios[day] = float(row["skill_ratio_to_training"])
        figures[day] = {
            **row,
            "model_version": champion.version,
            "best_baseline": str(metrics.get("best_baseline")),
        }
    yield dg.Output(out, metadata=_day_metadata(figures))
    yield worst_day_result(
        MODEL_PERFORMANCE_SPEC, ratios, monitoring_policy.performance(), "skill ratio to training"
    )
