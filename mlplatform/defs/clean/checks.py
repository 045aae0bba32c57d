"""The clean layer's blocking checks: Pandera schemas and row conservation, evaluated by
`clean_partition` itself on every day of its run.

They are check specs of the asset rather than separate partitioned `@asset_check`s because a
run may cover a range of days, and Dagster records a separate check's result on a range run
without a partition, which would leave every day of the range unchecked. Here a failed day
fails the run before anything is written: a day that does not pass is never materialized, so
no later layer reads it, and the catch-up does not try it again until its input changes.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import dagster as dg
import polars as pl

from mlplatform.defs.keys import COST_DAILY, METRICS_HOURLY, OTHER_METRICS_HOURLY, QUARANTINE
from mlplatform.defs.metadata import by_day, markdown_preview
from mlplatform.lib.cleaning.common import CleanResult, Conservation
from mlplatform.lib.cleaning.metrics import MetricsCleanResult
from mlplatform.lib.cleaning.schemas import (
    cost_daily_schema,
    metrics_hourly_schema,
    other_metrics_hourly_schema,
    quarantine_schema,
)
from mlplatform.lib.cleaning.validation import conservation, schema_failures

SCHEMA_CHECK = "pandera_schema"
ROW_CONSERVATION = "row_conservation"

SCHEMAS: dict[dg.AssetKey, tuple[str, Callable]] = {
    METRICS_HOURLY: ("metrics_hourly", metrics_hourly_schema),
    OTHER_METRICS_HOURLY: ("other_metrics_hourly", other_metrics_hourly_schema),
    COST_DAILY: ("cost_daily", cost_daily_schema),
    QUARANTINE: ("quarantine", quarantine_schema),
}
# The check sits on the source's main table; metrics' rows also go to other_metrics_hourly.
CONSERVED: dict[dg.AssetKey, str] = {METRICS_HOURLY: "metrics", COST_DAILY: "cost"}

CLEAN_CHECK_SPECS = [
    *(
        dg.AssetCheckSpec(
            SCHEMA_CHECK,
            asset=key,
            blocking=True,
            description=f"Every day of the run satisfies the Pandera schema `{name}`.",
        )
        for key, (name, _) in SCHEMAS.items()
    ),
    *(
        dg.AssetCheckSpec(
            ROW_CONSERVATION,
            asset=key,
            blocking=True,
            description=(
                f"No row is lost: raw rows = rows behind the clean {source} tables + "
                f"quarantined {source} rows, on every day of the run."
            ),
        )
        for key, source in CONSERVED.items()
    ),
]


@dataclass(frozen=True)
class CleanDay:
    """One day's cleaning, as the checks see it."""

    raw: dict[str, pl.DataFrame]  # by source: metrics, cost
    results: dict[str, CleanResult]  # by source
    quarantine: pl.DataFrame

    def table(self, key: dg.AssetKey) -> pl.DataFrame:
        if key == QUARANTINE:
            return self.quarantine
        if key == OTHER_METRICS_HOURLY:
            metrics = self.results["metrics"]
            assert isinstance(metrics, MetricsCleanResult)
            return metrics.other
        return self.results[CONSERVED[key]].clean


def _schema_result(key: dg.AssetKey, days: Mapping[str, CleanDay]) -> dg.AssetCheckResult:
    _, schema_of = SCHEMAS[key]
    schema = schema_of()
    failures = {day: schema_failures(d.table(key), schema) for day, d in days.items()}
    failed = {day: cases for day, cases in failures.items() if cases.height}
    cases = pl.concat(
        [c.with_columns(partition=pl.lit(day)) for day, c in failed.items()]
        or [pl.DataFrame(schema={"partition": pl.String})],
        how="diagonal_relaxed",
    )
    figures = {
        "failure_cases": cases.height,
        **by_day({day: {"rows": d.table(key).height} for day, d in days.items()}),
    }
    if failed:
        figures["failures"] = dg.MetadataValue.md(markdown_preview(cases, rows=20))
    return _result(key, SCHEMA_CHECK, days, list(failed), figures)


def _conservation_result(key: dg.AssetKey, days: Mapping[str, CleanDay]) -> dg.AssetCheckResult:
    source = CONSERVED[key]
    balances: dict[str, Conservation] = {
        day: conservation(d.raw[source], d.results[source], source) for day, d in days.items()
    }
    failed = [day for day, b in balances.items() if not b.holds]
    figures = by_day({day: b.as_dict() for day, b in balances.items()})
    return _result(key, ROW_CONSERVATION, days, failed, figures)


def _result(
    key: dg.AssetKey, check: str, days: Mapping[str, CleanDay], failed: list[str], figures: dict
) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=check,
        passed=not failed,
        metadata={
            "partitions": ", ".join(days),
            "failed_partitions": ", ".join(failed) or "none",
            **figures,
        },
    )


def clean_check_results(days: Mapping[str, CleanDay]) -> list[dg.AssetCheckResult]:
    return [
        *(_schema_result(key, days) for key in SCHEMAS),
        *(_conservation_result(key, days) for key in CONSERVED),
    ]
