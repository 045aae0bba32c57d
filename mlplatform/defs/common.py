"""Small helpers every layer's wrappers share."""

from datetime import date

import dagster as dg
import polars as pl

OWNERS = ["team:ml-platform"]
Days = dict[str, pl.DataFrame]  # a run's frames by partition key


def partition_days(context: dg.AssetExecutionContext) -> list[date]:
    """The days a run covers: one, or a range when a backfill or catch-up batches them."""
    return [date.fromisoformat(key) for key in context.partition_keys]
