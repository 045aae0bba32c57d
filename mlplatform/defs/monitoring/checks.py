"""Monitoring checks with WARN and ERROR severities from configurable thresholds; an ERROR
makes retrain_sensor launch retrain_job.

They are check specs of the monitoring assets, evaluated by the assets on every day of their
run: a run may cover a range of days, and Dagster records a separate check's result on a
range run without a partition. The result is the run's worst day; `partition` in its
metadata names that day and `by_partition` lists every day's value.
"""

from collections.abc import Mapping

import dagster as dg

from mlplatform.defs.keys import FEATURE_DRIFT, MODEL_PERFORMANCE
from mlplatform.defs.metadata import json_metadata
from mlplatform.lib.monitoring.drift import Thresholds

FEATURE_DRIFT_CHECK = "feature_drift_check"
MODEL_PERFORMANCE_CHECK = "model_performance_check"
MEASURED = "measured_value"
PARTITION = "partition"

FEATURE_DRIFT_SPEC = dg.AssetCheckSpec(
    FEATURE_DRIFT_CHECK,
    asset=FEATURE_DRIFT,
    description="Share of drifted monitored columns against the WARN/ERROR thresholds.",
)
MODEL_PERFORMANCE_SPEC = dg.AssetCheckSpec(
    MODEL_PERFORMANCE_CHECK,
    asset=MODEL_PERFORMANCE,
    description="Live MAE relative to the champion's training MAE, against WARN/ERROR thresholds.",
)
_RANK = {None: 0, "WARN": 1, "ERROR": 2}


def worst_day_result(
    spec: dg.AssetCheckSpec,
    values: Mapping[str, float | None],
    thresholds: Thresholds,
    what: str,
) -> dg.AssetCheckResult:
    """One result for the run's days (`None`: not measured that day): its worst day's."""
    measured = {day: v for day, v in values.items() if v is not None}
    base = {
        "warn_at": thresholds.warn,
        "error_at": thresholds.error,
        "by_partition": json_metadata(dict(values)),
    }
    if not measured:
        return dg.AssetCheckResult(
            asset_key=spec.asset_key,
            check_name=spec.name,
            passed=True,
            metadata={**base, "measured": False},
            description="not measured: too little history yet (see the asset's metadata)",
        )
    day = max(measured, key=lambda d: (_RANK[thresholds.severity(measured[d])], measured[d], d))
    value = measured[day]
    severity = thresholds.severity(value)
    metadata = {**base, MEASURED: value, PARTITION: day}
    if severity is None:
        return dg.AssetCheckResult(
            asset_key=spec.asset_key,
            check_name=spec.name,
            passed=True,
            metadata=metadata,
            description=f"{what} {value:.3g} ({day})",
        )
    return dg.AssetCheckResult(
        asset_key=spec.asset_key,
        check_name=spec.name,
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR if severity == "ERROR" else dg.AssetCheckSeverity.WARN,
        metadata=metadata,
        description=f"{what} {value:.3g} on {day} reached the {severity} threshold",
    )
