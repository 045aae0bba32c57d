"""Small helpers every layer's wrappers share."""

from datetime import date

import dagster as dg

OWNERS = ["team:ml-platform"]


def partition_day(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> date:
    return date.fromisoformat(context.partition_key)
