"""Raw layer: landing files as they arrived, with file and line, one partition per day."""

from collections.abc import Sequence
from datetime import date

import dagster as dg
import polars as pl

from mlplatform.automation.partitions import batched, daily_partitions
from mlplatform.defs.common import OWNERS, partition_days
from mlplatform.defs.keys import RAW_COST, RAW_METRICS
from mlplatform.defs.metadata import by_day, column_schema, markdown_preview
from mlplatform.lib.ingest.catalog import (
    COST_OPTIONAL,
    COST_REQUIRED,
    METRICS_OPTIONAL,
    METRICS_REQUIRED,
)
from mlplatform.lib.ingest.landing import FileReport, raw_schema
from mlplatform.lib.ingest.raw import file_report_table, ingest
from mlplatform.resources.landing import LandingZone


def _ingest_day(
    context: dg.AssetExecutionContext,
    landing: LandingZone,
    source: str,
    day: date,
    required: Sequence[str],
    optional: Sequence[str],
) -> tuple[pl.DataFrame, dict[str, int], pl.DataFrame]:
    files = {f.name: f for f in landing.files(source, day)}
    if not files:
        context.log.warning(f"no landing files in {landing.folder(source, day)}")

    def progress(i: int, report: FileReport) -> None:
        state = f"ERROR {report.error}" if report.error else f"{report.rows:,} rows"
        context.log.info(f"{day} [{i}/{len(files)}] {report.file}: {state}")
        for warning in report.warnings:
            context.log.warning(f"{report.file}: {warning}")

    result = ingest(
        ((f.name, f.arrived_at) for f in files.values()),
        lambda name: landing.read(files[name]),
        required,
        optional,
        progress,
    )
    figures = {
        "files": len(result.reports),
        "failed_files": len(result.failed_files),
        "rows_with_errors": int(result.raw["file_error"].is_not_null().sum()),
    }
    return result.raw, figures, file_report_table(result.reports)


def _ingest_partitions(
    context: dg.AssetExecutionContext,
    landing: LandingZone,
    source: str,
    required: Sequence[str],
    optional: Sequence[str],
) -> dg.Output[dict[str, pl.DataFrame]]:
    frames, figures, reports = {}, {}, []
    for day in partition_days(context):
        key = day.isoformat()
        frames[key], figures[key], report = _ingest_day(
            context, landing, source, day, required, optional
        )
        reports.append(report)
    return dg.Output(
        frames,
        metadata={
            **by_day(figures),
            "file_report": dg.MetadataValue.md(markdown_preview(pl.concat(reports), rows=50)),
        },
    )


_RAW_SPEC = {
    "partitions_def": daily_partitions,
    "group_name": "raw",
    "owners": OWNERS,
    "io_manager_key": "lake",
    "backfill_policy": batched,
}


@dg.asset(
    key=RAW_METRICS,
    description=(
        "CloudWatch-style metrics in the long format (timestamp, resource_id, metric_name, "
        "value, ...) exactly as they arrived in `landing/metrics/<day>/`, as text, with source "
        "file and line. A file that cannot be read at all is one row carrying `file_error`."
    ),
    kinds={"polars", "parquet"},
    metadata={
        "dagster/column_schema": column_schema(
            raw_schema([*METRICS_REQUIRED, *METRICS_OPTIONAL]), RAW_METRICS
        )
    },
    **_RAW_SPEC,
)
def cloudwatch_metrics(
    context: dg.AssetExecutionContext, landing: LandingZone
) -> dg.Output[dict[str, pl.DataFrame]]:
    return _ingest_partitions(context, landing, "metrics", METRICS_REQUIRED, METRICS_OPTIONAL)


@dg.asset(
    key=RAW_COST,
    description=(
        "FOCUS cost and usage lines exactly as they arrived in `landing/cost/<day>/`, as text, "
        "with source file and line."
    ),
    kinds={"polars", "parquet"},
    metadata={
        "dagster/column_schema": column_schema(
            raw_schema([*COST_REQUIRED, *COST_OPTIONAL]), RAW_COST
        )
    },
    **_RAW_SPEC,
)
def cost_usage(
    context: dg.AssetExecutionContext, landing: LandingZone
) -> dg.Output[dict[str, pl.DataFrame]]:
    return _ingest_partitions(context, landing, "cost", COST_REQUIRED, COST_OPTIONAL)
