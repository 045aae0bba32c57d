"""Clean layer: validated, deduplicated, UTC hourly metrics and daily cost, and the quarantine."""

from collections.abc import Iterator
from datetime import date

import dagster as dg
import polars as pl
from pydantic import Field

from mlplatform.automation.partitions import batched, daily_partitions
from mlplatform.defs.clean.checks import CLEAN_CHECK_SPECS, CleanDay, clean_check_results
from mlplatform.defs.common import OWNERS
from mlplatform.defs.keys import (
    COST_DAILY,
    METRICS_HOURLY,
    OTHER_METRICS_HOURLY,
    QUARANTINE,
    RAW_COST,
    RAW_METRICS,
)
from mlplatform.defs.metadata import by_day, column_schema, markdown_preview
from mlplatform.lib.cleaning.cost import DAILY_COLUMNS, clean_cost
from mlplatform.lib.cleaning.metrics import HOURLY_COLUMNS, OTHER_HOURLY_COLUMNS, clean_metrics
from mlplatform.lib.cleaning.schemas import QUARANTINE_COLUMNS


class CleanConfig(dg.Config):
    naive_timezone: str = Field(
        default="UTC",
        description=(
            "Time zone of metric timestamps that carry no offset. UTC per the landing format; "
            "set e.g. 'America/New_York' for NAB-style local-time files (a repeated hour at "
            "the autumn change is then told apart by its order in the file)."
        ),
    )


def _out(key: dg.AssetKey, description: str, schema: dict[str, pl.DataType]) -> dg.AssetOut:
    return dg.AssetOut(
        key=key,
        description=description,
        io_manager_key="lake",
        owners=OWNERS,
        kinds={"polars", "pandera", "parquet"},
        metadata={"dagster/column_schema": column_schema(schema, key)},
    )


@dg.multi_asset(
    name="clean_partition",
    group_name="clean",
    partitions_def=daily_partitions,
    backfill_policy=batched,
    ins={"raw_metrics": dg.AssetIn(RAW_METRICS), "raw_cost": dg.AssetIn(RAW_COST)},
    outs={
        "metrics_hourly": _out(
            METRICS_HOURLY,
            "One row per resource and UTC hour (FEATURES.md input schema): gauges averaged, "
            "counters summed, later arrivals winning over earlier duplicates. `source_rows` "
            "counts the raw rows behind each hour.",
            HOURLY_COLUMNS,
        ),
        "other_metrics_hourly": _out(
            OTHER_METRICS_HOURLY,
            "Every metric outside the platform's catalog (anything a source sends besides cpu, "
            "memory, network and requests), under the name it was sent with: one row per "
            "resource, metric and UTC hour, the mean of its samples. The anomaly detector "
            "watches these too; the feature set does not.",
            OTHER_HOURLY_COLUMNS,
        ),
        "cost_daily": _out(
            COST_DAILY,
            "FOCUS cost lines summed per day, account, service, region, resource and charge "
            "category; `source_rows` counts the cost lines behind each row.",
            DAILY_COLUMNS,
        ),
        "quarantine": _out(
            QUARANTINE,
            "Every raw row the clean layer rejected, with its file, line, column, reason and "
            "its values as they arrived. raw = clean inputs + quarantine, per partition.",
            QUARANTINE_COLUMNS,
        ),
    },
    internal_asset_deps={
        "metrics_hourly": {RAW_METRICS},
        "other_metrics_hourly": {RAW_METRICS},
        "cost_daily": {RAW_COST},
        "quarantine": {RAW_METRICS, RAW_COST},
    },
    check_specs=CLEAN_CHECK_SPECS,
)
def clean_partition(
    context: dg.AssetExecutionContext,
    config: CleanConfig,
    raw_metrics: dict[str, pl.DataFrame],
    raw_cost: dict[str, pl.DataFrame],
) -> Iterator[dg.Output[dict[str, pl.DataFrame]] | dg.AssetCheckResult]:
    days: dict[str, CleanDay] = {}
    for key in context.partition_keys:
        day = date.fromisoformat(key)
        raw = {"metrics": raw_metrics[key], "cost": raw_cost[key]}
        results = {
            "metrics": clean_metrics(raw["metrics"], day, config.naive_timezone),
            "cost": clean_cost(raw["cost"], day),
        }
        for name, result in results.items():
            context.log.info(
                f"{key} {name}: {result.raw_rows:,} raw rows -> {result.accepted_rows:,} "
                f"accepted, {result.quarantine.height:,} quarantined"
            )
        quarantine = pl.concat([results["metrics"].quarantine, results["cost"].quarantine])
        days[key] = CleanDay(raw, results, quarantine)
    checks = clean_check_results(days)
    failed = [c for c in checks if not c.passed]
    if failed:
        yield from checks  # recorded on the asset, then the run fails with nothing written
        raise dg.Failure(
            "clean checks failed, no partition written: "
            + "; ".join(
                f"{c.asset_key.to_user_string()}:{c.check_name} on "
                f"{c.metadata['failed_partitions'].value}"
                for c in failed
            )
        )
    yield from _outputs(days)
    yield from checks


def _outputs(days: dict[str, CleanDay]) -> Iterator[dg.Output[dict[str, pl.DataFrame]]]:
    metrics = {k: d.results["metrics"] for k, d in days.items()}
    cost = {k: d.results["cost"] for k, d in days.items()}
    other = {k: d.table(OTHER_METRICS_HOURLY) for k, d in days.items()}
    yield dg.Output(
        other,
        output_name="other_metrics_hourly",
        metadata=by_day(
            {
                k: {"rows": frame.height, "metrics": frame["metric"].n_unique()}
                for k, frame in other.items()
            }
        ),
    )
    yield dg.Output(
        {k: r.clean for k, r in metrics.items()},
        output_name="metrics_hourly",
        metadata=by_day(
            {
                k: {
                    "accepted_rows": r.accepted_rows,
                    "quarantined_rows": r.quarantine.height,
                    "resources": r.clean["resource_id"].n_unique(),
                }
                for k, r in metrics.items()
            }
        ),
    )
    yield dg.Output(
        {k: r.clean for k, r in cost.items()},
        output_name="cost_daily",
        metadata=by_day(
            {
                k: {
                    "accepted_rows": r.accepted_rows,
                    "quarantined_rows": r.quarantine.height,
                    "billed_cost_total": float(r.clean["billed_cost"].sum()),
                }
                for k, r in cost.items()
            }
        ),
    )
    quarantine = pl.concat([d.quarantine for d in days.values()])
    reasons = quarantine.group_by("source", "reason").len().sort("len", descending=True).head(20)
    yield dg.Output(
        {k: d.quarantine for k, d in days.items()},
        output_name="quarantine",
        metadata={
            **by_day({k: {"quarantined_rows": d.quarantine.height} for k, d in days.items()}),
            "top_reasons": dg.MetadataValue.md(markdown_preview(reasons, rows=20)),
        },
    )
