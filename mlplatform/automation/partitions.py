"""Daily UTC partitions shared by every partitioned asset.

The first day is read once, when the code location loads (`settings.partitions_start`): the
partition set is part of the definitions, so a deployment shows the days it has data for.
Files landing for an earlier day need `MLPLATFORM_PARTITIONS_START` or a code location reload.
"""

import dagster as dg

from mlplatform.settings import partitions_start

PARTITIONS_START = partitions_start().isoformat()

daily_partitions = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, timezone="UTC")
