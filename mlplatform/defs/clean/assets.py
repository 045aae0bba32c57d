"""Clean layer: validated, deduplicated, UTC hourly metrics and daily cost, and the quarantine."""

from collections.abc import Iterator

import dagster as dg
import polars as pl
from pydantic import Field

from mlplatform.automation.partitions import daily_partitions
from mlplatform.defs.common import OWNERS, partition_day
from mlplatform.defs.metadata import column_schema, markdown_preview
from mlplatform.lib.cleaning.cost import DAILY_COLUMNS, clean_cost
from mlplatform.lib.cleaning.metrics import HOURLY_COLUMNS, clean_metrics
from mlplatform.lib.schemas import QUARANTINE_COLUMNS

METRICS_HOURLY = dg.AssetKey(["clean", "metrics_hourly"])
COST_DAILY = dg.AssetKey(["clean", "cost_daily"])
QUARANTINE = dg.AssetKey(["clean", "quarantine"])
RAW_METRICS = dg.AssetKey(["raw", "cloudwatch_metrics"])
RAW_COST = dg.AssetKey(["raw", "cost_usage"])


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
        metadata={"dagster/column_schema": column_schema(schema)},
    )


@dg.multi_asset(
    name="clean_partition",
    group_name="clean",
    partitions_def=daily_partitions,
    ins={"raw_metrics": dg.AssetIn(RAW_METRICS), "raw_cost": dg.AssetIn(RAW_COST)},
    outs={
        "metrics_hourly": _out(
            METRICS_HOURLY,
            "One row per resource and UTC hour (FEATURES.md input schema): gauges averaged, "
            "counters summed, later arrivals winning over earlier duplicates. `source_rows` "
            "counts the raw rows behind each hour.",
            HOURLY_COLUMNS,
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
        "cost_daily": {RAW_COST},
        "quarantine": {RAW_METRICS, RAW_COST},
    },
)
def clean_partition(
    context: dg.AssetExecutionContext,
    config: CleanConfig,
    raw_metrics: pl.DataFrame,
    raw_cost: pl.DataFrame,
) -> Iterator[dg.Output[pl.DataFrame]]:
    day = partition_day(context)
    metrics = clean_metrics(raw_metrics, day, config.naive_timezone)
    cost = clean_cost(raw_cost, day)
    quarantine = pl.concat([metrics.quarantine, cost.quarantine])
    for name, result in (("metrics", metrics), ("cost", cost)):
        context.log.info(
            f"{name}: {result.raw_rows:,} raw rows -> {result.accepted_rows:,} accepted, "
            f"{result.quarantine.height:,} quarantined"
        )
    yield dg.Output(
        metrics.clean,
        output_name="metrics_hourly",
        metadata={
            "accepted_rows": metrics.accepted_rows,
            "quarantined_rows": metrics.quarantine.height,
            "resources": metrics.clean["resource_id"].n_unique(),
        },
    )
    yield dg.Output(
        cost.clean,
        output_name="cost_daily",
        metadata={
            "accepted_rows": cost.accepted_rows,
            "quarantined_rows": cost.quarantine.height,
            "billed_cost_total": float(cost.clean["billed_cost"].sum()),
        },
    )
    reasons = quarantine.group_by("source", "reason").len().sort("len", descending=True).head(20)
    yield dg.Output(
        quarantine,
        output_name="quarantine",
        metadata={
            "quarantined_rows": quarantine.height,
            "top_reasons": dg.MetadataValue.md(markdown_preview(reasons, rows=20)),
        },
    )
