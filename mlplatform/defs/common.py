"""Small helpers every layer's wrappers share."""

from datetime import date, timedelta

import dagster as dg
import polars as pl

from mlplatform.defs.keys import METRICS_HOURLY, OTHER_METRICS_HOURLY
from mlplatform.lib.models.detector_tables import observations
from mlplatform.resources.models import LakeReader

OWNERS = ["team:ml-platform"]
Days = dict[str, pl.DataFrame]  # a run's frames by partition key


def partition_days(context: dg.AssetExecutionContext) -> list[date]:
    """The days a run covers: one, or a range when a backfill or catch-up batches them."""
    return [date.fromisoformat(key) for key in context.partition_keys]


def read_with_history(
    context: dg.AssetExecutionContext, lake_reader: LakeReader, key: dg.AssetKey, days: int
) -> pl.DataFrame:
    """The run's partitions of `key` and those of the `days` days before (where they exist),
    read through the lake; a run's own partition that is missing fails it by name."""
    return lake_reader.read(*key.path, history_span(context, lake_reader, key, days))


def history_span(
    context: dg.AssetExecutionContext, lake_reader: LakeReader, key: dg.AssetKey, days: int
) -> list[str]:
    """The keys `read_with_history` reads."""
    first = (partition_days(context)[0] - timedelta(days=days)).isoformat()
    last = context.partition_keys[-1]
    span = [k for k in lake_reader.partitions(*key.path) if first <= k <= last]
    missing = sorted(set(context.partition_keys) - set(span))
    if missing:
        raise dg.Failure(f"{key.to_user_string()} has no partition for {', '.join(missing)}")
    return span


def read_observations(lake_reader: LakeReader, keys: list[str]) -> pl.DataFrame:
    """Every metric's hourly values on the days `keys` (`detector_tables.observations`):
    clean/metrics_hourly's, and clean/other_metrics_hourly's where that partition exists (not
    for a day cleaned before the table did)."""
    hourly = lake_reader.read(*METRICS_HOURLY.path, keys)
    present = set(lake_reader.partitions(*OTHER_METRICS_HOURLY.path))
    other_keys = [k for k in keys if k in present]
    other = lake_reader.read(*OTHER_METRICS_HOURLY.path, other_keys) if other_keys else None
    return observations(hourly, other)
