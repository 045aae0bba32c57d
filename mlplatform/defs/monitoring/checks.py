"""Monitoring checks with WARN and ERROR severities from configurable thresholds; an ERROR
makes retrain_sensor launch retrain_job.

They are check specs of the monitoring assets, evaluated by the assets on every day of their
run: a run may cover a range of days, and Dagster records a separate check's result on a
range run without a partition. The result is the run's worst day; `partition` in its
metadata names that day and `by_partition` lists every day's value.
"""

from collections.abc import Mapping
from typing import Any

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
    description=(
        "The day's drift share (compared columns that drifted) and its signal drift (the "
        "median distance of the most moved metric's columns) against their WARN/ERROR "
        "thresholds: broad drift moves the first, a change confined to one metric the second."
    ),
)
MODEL_PERFORMANCE_SPEC = dg.AssetCheckSpec(
    MODEL_PERFORMANCE_CHECK,
    asset=MODEL_PERFORMANCE,
    description=(
        "The day's skill ratio: the champion demand forecaster's MAE over the best naive "
        "forecast's on that day, divided by the same at training time, against its WARN/ERROR "
        "thresholds. It rises when the model falls behind naive forecasting, which a retrain "
        "can fix; a day that makes every forecast worse (a weekend, an incident) does not move it."
    ),
)
_RANK = {None: 0, "WARN": 1, "ERROR": 2}


def worst_day_result(
    spec: dg.AssetCheckSpec,
    values: Mapping[str, Mapping[str, float] | None],
    thresholds: Mapping[str, Thresholds],
    notes: Mapping[str, str] | None = None,
) -> dg.AssetCheckResult:
    """One result for the run's days: its worst day's. `values`: per day, each figure
    `thresholds` names (None: not measured that day); a day's severity is its worst figure's,
    and the first figure is the check's `measured_value`. `notes`: a word on a day's figures."""
    measured = {day: v for day, v in values.items() if v is not None}
    primary = next(iter(thresholds))
    base: dict[str, Any] = {
        **{f"{name}_warn_at": th.warn for name, th in thresholds.items()},
        **{f"{name}_error_at": th.error for name, th in thresholds.items()},
        "by_partition": json_metadata(
            {d: None if v is None else dict(v) for d, v in values.items()}
        ),
    }
    if not measured:
        return dg.AssetCheckResult(
            asset_key=spec.asset_key,
            check_name=spec.name,
            passed=True,
            metadata={**base, "measured": False},
            description="not measured: too little history yet (see the asset's metadata)",
        )

    def severity(day: str) -> str | None:
        found = [thresholds[n].severity(measured[day][n]) for n in thresholds]
        return max(found, key=lambda s: _RANK[s])

    def closeness(day: str) -> float:  # how near the day's nearest figure is to its ERROR
        return max(measured[day][n] / thresholds[n].error for n in thresholds)

    day = max(measured, key=lambda d: (_RANK[severity(d)], closeness(d), d))
    figures = measured[day]
    level = severity(day)
    said = ", ".join(f"{name} {figures[name]:.3g}" for name in thresholds)
    if notes and notes.get(day):
        said += f" ({notes[day]})"
    metadata = {**base, **dict(figures), MEASURED: figures[primary], PARTITION: day}
    if level is None:
        return dg.AssetCheckResult(
            asset_key=spec.asset_key,
            check_name=spec.name,
            passed=True,
            metadata=metadata,
            description=f"{said} on {day}",
        )
    return dg.AssetCheckResult(
        asset_key=spec.asset_key,
        check_name=spec.name,
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR if level == "ERROR" else dg.AssetCheckSeverity.WARN,
        metadata=metadata,
        description=f"{said} on {day} reached the {level} threshold",
    )
