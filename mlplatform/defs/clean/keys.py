"""The clean layer's asset keys and the raw keys it reads."""

import dagster as dg

METRICS_HOURLY = dg.AssetKey(["clean", "metrics_hourly"])
COST_DAILY = dg.AssetKey(["clean", "cost_daily"])
QUARANTINE = dg.AssetKey(["clean", "quarantine"])
RAW_METRICS = dg.AssetKey(["raw", "cloudwatch_metrics"])
RAW_COST = dg.AssetKey(["raw", "cost_usage"])
