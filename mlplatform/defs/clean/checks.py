"""Blocking checks of the clean layer: Pandera schemas and row conservation, per partition."""

from collections.abc import Callable
from typing import Any

import dagster as dg
import polars as pl

from mlplatform.automation.partitions import daily_partitions
from mlplatform.defs.clean.assets import (
    COST_DAILY,
    METRICS_HOURLY,
    QUARANTINE,
    RAW_COST,
    RAW_METRICS,
)
from mlplatform.defs.metadata import markdown_preview
from mlplatform.lib.cleaning.common import Conservation
from mlplatform.lib.schemas import cost_daily_schema, metrics_hourly_schema, quarantine_schema

SCHEMA_CHECK = "pandera_schema"
ROW_CONSERVATION = "row_conservation"


def _schema_result(frame: pl.DataFrame, schema_of: Callable[[], Any]) -> dg.AssetCheckResult:
    import pandera.polars as pa

    try:
        schema = schema_of()
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "failure_cases": cases.height,
                "failures": dg.MetadataValue.md(markdown_preview(cases, rows=20)),
            },
        )
    return dg.AssetCheckResult(passed=True, metadata={"rows": frame.height})


def _schema_check(
    asset: dg.AssetKey, schema_name: str, schema_of: Callable[[], Any]
) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset,
        name=SCHEMA_CHECK,
        blocking=True,
        partitions_def=daily_partitions,
        description=f"The partition satisfies the Pandera schema `{schema_name}`.",
    )
    def check(frame: pl.DataFrame) -> dg.AssetCheckResult:
        return _schema_result(frame, schema_of)

    return check


def _conservation_check(
    asset: dg.AssetKey, raw: dg.AssetKey, source: str
) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset,
        name=ROW_CONSERVATION,
        blocking=True,
        partitions_def=daily_partitions,
        additional_ins={"raw": dg.AssetIn(raw), "quarantine": dg.AssetIn(QUARANTINE)},
        description=(
            f"No row is lost: raw rows = rows behind the clean {source} table + quarantined "
            f"{source} rows, on this partition."
        ),
    )
    def check(
        frame: pl.DataFrame, raw: pl.DataFrame, quarantine: pl.DataFrame
    ) -> dg.AssetCheckResult:
        balance = Conservation(
            raw_rows=raw.height,
            clean_source_rows=int(frame["source_rows"].sum()),
            quarantined=quarantine.filter(pl.col("source") == source).height,
        )
        return dg.AssetCheckResult(
            passed=balance.holds,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata=balance.as_dict(),
        )

    return check


clean_checks = [
    _schema_check(METRICS_HOURLY, "metrics_hourly", metrics_hourly_schema),
    _schema_check(COST_DAILY, "cost_daily", cost_daily_schema),
    _schema_check(QUARANTINE, "quarantine", quarantine_schema),
    _conservation_check(METRICS_HOURLY, RAW_METRICS, "metrics"),
    _conservation_check(COST_DAILY, RAW_COST, "cost"),
]
