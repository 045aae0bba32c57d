"""Monitoring checks with WARN and ERROR severities from configurable thresholds; an ERROR
makes retrain_sensor launch retrain_job."""

import dagster as dg
import polars as pl

from mlplatform.automation.partitions import daily_partitions
from mlplatform.lib.drift import Thresholds
from mlplatform.resources.monitoring import MonitoringPolicy

FEATURE_DRIFT = dg.AssetKey(["monitoring", "feature_drift"])
MODEL_PERFORMANCE = dg.AssetKey(["monitoring", "model_performance"])
FEATURE_DRIFT_CHECK = "feature_drift_check"
MODEL_PERFORMANCE_CHECK = "model_performance_check"
MEASURED = "measured_value"


def _result(value: float, thresholds: Thresholds, what: str) -> dg.AssetCheckResult:
    severity = thresholds.severity(value)
    metadata = {MEASURED: value, "warn_at": thresholds.warn, "error_at": thresholds.error}
    if severity is None:
        return dg.AssetCheckResult(
            passed=True, metadata=metadata, description=f"{what} {value:.3g}"
        )
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR if severity == "ERROR" else dg.AssetCheckSeverity.WARN,
        metadata=metadata,
        description=f"{what} {value:.3g} reached the {severity} threshold",
    )


@dg.asset_check(
    asset=FEATURE_DRIFT,
    name=FEATURE_DRIFT_CHECK,
    partitions_def=daily_partitions,
    description="Share of drifted monitored columns against the WARN/ERROR thresholds.",
)
def feature_drift_check(
    feature_drift: pl.DataFrame, monitoring_policy: MonitoringPolicy
) -> dg.AssetCheckResult:
    if feature_drift.is_empty():
        return dg.AssetCheckResult(
            passed=True,
            metadata={"measured": False},
            description="not measured: too little history yet (see the asset's metadata)",
        )
    share = float(feature_drift["drifted"].mean())
    return _result(share, monitoring_policy.drift(), "drift share")


@dg.asset_check(
    asset=MODEL_PERFORMANCE,
    name=MODEL_PERFORMANCE_CHECK,
    partitions_def=daily_partitions,
    description="Live MAE relative to the champion's training MAE, against WARN/ERROR thresholds.",
)
def model_performance_check(
    model_performance: pl.DataFrame, monitoring_policy: MonitoringPolicy
) -> dg.AssetCheckResult:
    ratio = float(model_performance["mae_ratio_to_training"][0])
    return _result(ratio, monitoring_policy.performance(), "MAE ratio to training")


monitoring_checks = [feature_drift_check, model_performance_check]
