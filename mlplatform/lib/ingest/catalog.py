"""Names shared by every layer: metrics, their kinds, and the landing-file columns."""

from __future__ import annotations

GAUGES: tuple[str, ...] = ("cpu_utilization", "memory_utilization")
COUNTERS: tuple[str, ...] = ("network_io", "request_count")
METRICS: tuple[str, ...] = GAUGES + COUNTERS
PERCENT_METRICS: frozenset[str] = frozenset(GAUGES)

# CloudWatch and agent names map onto the platform's metric names; NetworkIn and NetworkOut
# both feed network_io, whose hourly value is their sum (it is a counter).
METRIC_ALIASES: dict[str, str] = {
    **{m: m for m in METRICS},
    "CPUUtilization": "cpu_utilization",
    "mem_used_percent": "memory_utilization",
    "MemoryUtilization": "memory_utilization",
    "NetworkIn": "network_io",
    "NetworkOut": "network_io",
    "network_in": "network_io",
    "network_out": "network_io",
    "RequestCount": "request_count",
}
# Any other metric a source sends keeps its name as sent (`clean/other_metrics_hourly`): the
# anomaly detector watches it, the feature set (whose contract names the catalog's) does not.
METRIC_NAME_MAX_CHARS = 255  # CloudWatch's limit on a metric name

METRICS_REQUIRED: tuple[str, ...] = ("timestamp", "resource_id", "metric_name", "value")
METRICS_OPTIONAL: tuple[str, ...] = ("namespace", "region", "service", "unit")

COST_REQUIRED: tuple[str, ...] = (
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "BilledCost",
    "EffectiveCost",
    "BillingCurrency",
    "ServiceName",
    "ServiceCategory",
    "ResourceId",
    "RegionId",
    "SubAccountId",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ChargeCategory",
)
COST_OPTIONAL: tuple[str, ...] = ("ChargeDescription", "PricingUnit", "ListCost")

# Columns every raw table adds to what the source sent.
RAW_META: tuple[str, ...] = ("source_file", "source_line", "arrived_at", "file_error", "extra")

# Charge categories whose cost may be negative (FOCUS: credits and adjustments).
NEGATIVE_COST_CATEGORIES: frozenset[str] = frozenset({"Credit", "Adjustment"})

# One row of clean/cost_daily per day and these columns.
COST_DAILY_KEY: tuple[str, ...] = (
    "date",
    "sub_account_id",
    "service_name",
    "service_category",
    "region_id",
    "resource_id",
    "charge_category",
    "billing_currency",
)
