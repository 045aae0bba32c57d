"""Features layer: model inputs, point-in-time correct, per daily partition with lookback."""

from collections.abc import Callable
from datetime import date, timedelta

import dagster as dg
import polars as pl

from mlplatform.automation.partitions import batched, daily_partitions
from mlplatform.defs.common import OWNERS, partition_days
from mlplatform.defs.keys import COST_DAILY, COST_FEATURES, METRICS_HOURLY, RESOURCE_FEATURES
from mlplatform.defs.metadata import by_day, column_schema
from mlplatform.lib.cleaning.cost import DAILY_COLUMNS
from mlplatform.lib.cleaning.metrics import HOURLY_COLUMNS
from mlplatform.lib.features.engineering import (
    COST_LOOKBACK_DAYS,
    LOOKBACK_DAYS,
    cost_daily_features,
    cost_features_for_day,
    feature_sources,
    features_for_day,
    resource_hourly_features,
)

# Computed once from empty inputs, so the UI shows the columns before anything is materialized.
RESOURCE_FEATURE_SCHEMA = resource_hourly_features(pl.DataFrame(schema=HOURLY_COLUMNS)).schema
COST_FEATURE_SCHEMA = cost_daily_features(pl.DataFrame(schema=DAILY_COLUMNS)).collect_schema()


def _of_days(
    compute: Callable[[pl.DataFrame, date], pl.DataFrame],
    upstream: pl.DataFrame | None,
    days: list[date],
    source: str,
    lookback_days: int,
) -> dict[str, pl.DataFrame]:
    """`compute` each day's features from its own lookback window (so a day's rows are the same
    whichever range it runs in), with a clear failure where the upstream rows are missing."""
    if upstream is None or upstream.is_empty():
        raise dg.Failure(
            f"{source} has no rows for {days[0]}..{days[-1]} or the {lookback_days} days before"
        )
    features = {day.isoformat(): compute(upstream, day) for day in days}
    empty = [day for day, frame in features.items() if frame.is_empty()]
    if empty:
        raise dg.Failure(f"{source} has no rows for {', '.join(empty)}: materialize it first")
    return features


def _lookback(key: dg.AssetKey, days: int) -> dg.AssetIn:
    """The partition and `days` before it; days before the data begins are skipped."""
    return dg.AssetIn(
        key,
        partition_mapping=dg.TimeWindowPartitionMapping(
            start_offset=-days, allow_nonexistent_upstream_partitions=True
        ),
        metadata={"allow_missing_partitions": True},
    )


@dg.asset(
    key=RESOURCE_FEATURES,
    group_name="features",
    description=(
        "Feature set v1 (FEATURES.md): every clean hourly row plus time features, 24-hour "
        "rolling statistics, 6-hour trends, 1/24/168-hour lags and cross-metric ratios, "
        f"computed from the partition and the {LOOKBACK_DAYS} days before it."
    ),
    partitions_def=daily_partitions,
    ins={"hourly": _lookback(METRICS_HOURLY, LOOKBACK_DAYS)},
    metadata={
        "dagster/column_schema": column_schema(RESOURCE_FEATURE_SCHEMA, RESOURCE_FEATURES),
        "dagster/column_lineage": dg.TableColumnLineage(
            deps_by_column={
                column: [
                    dg.TableColumnDep(asset_key=METRICS_HOURLY, column_name=s) for s in sources
                ]
                for column, sources in feature_sources(
                    list(HOURLY_COLUMNS), list(RESOURCE_FEATURE_SCHEMA)
                ).items()
            }
        ),
    },
    io_manager_key="lake",
    owners=OWNERS,
    kinds={"polars", "parquet"},
    backfill_policy=batched,
)
def resource_hourly(
    context: dg.AssetExecutionContext, hourly: pl.DataFrame | None
) -> dg.Output[dict[str, pl.DataFrame]]:
    days = partition_days(context)
    features = _of_days(features_for_day, hourly, days, "clean/metrics_hourly", LOOKBACK_DAYS)
    assert hourly is not None  # _of_days fails without it
    present = set(hourly["ts"].dt.date().unique())
    return dg.Output(
        features,
        metadata=by_day(
            {
                key: {
                    "resources": frame["resource_id"].n_unique(),
                    "days_of_history_used": sum(
                        date.fromisoformat(key) - timedelta(days=n) in present
                        for n in range(LOOKBACK_DAYS + 1)
                    ),
                }
                for key, frame in features.items()
            }
        ),
    )


@dg.asset(
    key=COST_FEATURES,
    group_name="features",
    description=(
        "Daily spend per account and service: calendar features, 1/7/14-day lags and 7/28-day "
        f"rolling spend, computed from the partition and the {COST_LOOKBACK_DAYS} days before it."
    ),
    partitions_def=daily_partitions,
    ins={"cost": _lookback(COST_DAILY, COST_LOOKBACK_DAYS)},
    metadata={"dagster/column_schema": column_schema(COST_FEATURE_SCHEMA, COST_FEATURES)},
    io_manager_key="lake",
    owners=OWNERS,
    kinds={"polars", "parquet"},
    backfill_policy=batched,
)
def cost_daily_features(
    context: dg.AssetExecutionContext, cost: pl.DataFrame | None
) -> dg.Output[dict[str, pl.DataFrame]]:
    days = partition_days(context)
    features = _of_days(cost_features_for_day, cost, days, "clean/cost_daily", COST_LOOKBACK_DAYS)
    return dg.Output(
        features,
        metadata=by_day(
            {
                key: {"series": frame.select("sub_account_id", "service_name").n_unique()}
                for key, frame in features.items()
            }
        ),
    )
