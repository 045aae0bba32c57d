"""Daily UTC partitions shared by every partitioned asset."""

import dagster as dg

PARTITIONS_START = "2026-01-01"

daily_partitions = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, timezone="UTC")
