"""Monitoring layer: Evidently drift reports and live accuracy, per daily partition."""

from datetime import date

import dagster as dg
import polars as pl

from mlplatform.automation.partitions import daily_partitions
from mlplatform.defs.common import OWNERS, partition_day
from mlplatform.lib.drift import DriftSummary, InsufficientHistory
from mlplatform.lib.drift import feature_drift as measure_drift
from mlplatform.lib.performance import alert_quality, demand_performance
from mlplatform.lib.registry import CHAMPION
from mlplatform.lib.sources.simulator import read_labels
from mlplatform.resources.landing import LandingZone
from mlplatform.resources.models import LakeReader, ModelRegistry
from mlplatform.resources.monitoring import Reports

RESOURCE_FEATURES = dg.AssetKey(["features", "resource_hourly"])
REFERENCE_DAYS = 28
NOT_MEASURED = "not_measured"


def _reference_days(lake: LakeReader, registry: ModelRegistry, day: date) -> list[str]:
    """The champion's training window, or the 28 partitions before `day` without one."""
    available = [d for d in lake.partitions("features", "resource_hourly") if d < day.isoformat()]
    store = registry.open()
    champion = store.by_alias("demand_forecaster", CHAMPION)
    if champion is not None:
        window = store.metadata("demand_forecaster", champion.version).get("training_window", "")
        first, _, last = window.partition("..")
        chosen = [d for d in available if first <= d <= last]
        if chosen:
            return chosen
    return available[-REFERENCE_DAYS:]


_MONITORING = {
    "group_name": "monitoring",
    "partitions_def": daily_partitions,
    "owners": OWNERS,
    "io_manager_key": "lake",
}


@dg.asset(
    key=["monitoring", "feature_drift"],
    ins={"features": dg.AssetIn(RESOURCE_FEATURES)},
    deps=[dg.AssetKey(["models", "demand_forecaster"])],
    description=(
        "Evidently drift report of the day's features against the champion's training window, "
        "on week-over-week ratios (seasonality alone does not move them). One row per monitored "
        "column with its normed Wasserstein distance; the self-contained HTML report is linked."
    ),
    kinds={"evidently", "polars", "parquet"},
    **_MONITORING,
)
def feature_drift(
    context: dg.AssetExecutionContext,
    features: pl.DataFrame,
    lake_reader: LakeReader,
    registry: ModelRegistry,
    reports: Reports,
) -> dg.Output[pl.DataFrame]:
    day = partition_day(context)
    days = _reference_days(lake_reader, registry, day)
    if not days:
        raise dg.Failure(f"no feature partitions before {day} to compare with")
    reference = lake_reader.read("features", "resource_hourly", days)
    try:
        with reports.writing("feature_drift", day.isoformat()) as html:
            summary = measure_drift(reference, features, html)
    except InsufficientHistory as exc:
        # a young deployment's first week: nothing to measure yet, which is no failure
        context.log.warning(f"drift not measured for {day}: {exc}")
        return dg.Output(
            DriftSummary(float("nan"), [], {}, 0, 0).as_frame(),
            metadata={NOT_MEASURED: str(exc), "reference_window": f"{days[0]}..{days[-1]}"},
        )
    report = reports.target("feature_drift", day.isoformat())
    return dg.Output(
        summary.as_frame(),
        metadata={
            "drift_share": summary.share,
            "drifted_columns": ", ".join(summary.drifted) or "none",
            **{f"score_{c}": s for c, s in summary.scores.items()},
            "reference_window": f"{days[0]}..{days[-1]}",
            "report": dg.MetadataValue.url(reports.url(report)),
            "report_path": dg.MetadataValue.path(str(report)),
        },
    )


@dg.asset(
    key=["monitoring", "model_performance"],
    ins={
        "features": dg.AssetIn(RESOURCE_FEATURES),
        "alerts": dg.AssetIn(dg.AssetKey(["serving", "anomaly_alerts"])),
    },
    deps=[dg.AssetKey(["models", "demand_forecaster"])],
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
    features: pl.DataFrame,
    alerts: pl.DataFrame,
    registry: ModelRegistry,
    landing: LandingZone,
) -> dg.Output[pl.DataFrame]:
    day = partition_day(context)
    store = registry.open()
    champion = store.by_alias("demand_forecaster", CHAMPION)
    if champion is None:
        raise dg.Failure("demand_forecaster has no champion yet")
    booster = store.load("demand_forecaster", champion.version)
    metrics = demand_performance(
        booster, features, float(champion.metrics.get("mae", float("nan")))
    )
    labels_file = landing.labels(day)
    if labels_file.exists():
        quality = alert_quality(alerts, read_labels(labels_file))
        metrics |= {f"alerts_{k}": v for k, v in quality.items()}
    row = {k: v for k, v in metrics.items() if isinstance(v, int | float)}
    return dg.Output(
        pl.DataFrame([{**row, "model_version": champion.version}]),
        metadata={
            **row,
            "model_version": champion.version,
            "best_baseline": str(metrics.get("best_baseline")),
        },
    )
