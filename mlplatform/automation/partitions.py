"""Daily UTC partitions shared by every partitioned asset, today's included.

Today is the open partition: pollers land its hours as they complete, and raw, clean,
features, demand forecasts and anomaly alerts refresh it as they arrive. What needs a whole
day (monitoring, cost forecasts, rightsizing, training) waits for it to close.

The first day is read once, when the code location loads (`settings.partitions_start`): the
partition set is part of the definitions, so a deployment shows the days it has data for.
Files landing for an earlier day need `MLPLATFORM_PARTITIONS_START` or a code location reload.
"""

import dagster as dg

from mlplatform.settings import partitions_per_run, partitions_start

PARTITIONS_START = partitions_start().isoformat()

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=PARTITIONS_START, timezone="UTC", end_offset=1
)

# A backfill or catch-up of many days runs them in a few runs, not one per day: a run's start-up
# (a process, the code location, the imports) costs more than a day's compute on small data.
# Bounded, so that one run's inputs stay within a worker's memory.
batched = dg.BackfillPolicy.multi_run(max_partitions_per_run=partitions_per_run())
