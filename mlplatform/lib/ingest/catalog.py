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
# The contract of every identifier a source sends (resource, metric name, service, region,
# namespace, unit, account): 1 to IDENTIFIER_MAX_CHARS characters, a letter, digit or % first
# (no = + - @ first: a spreadsheet would take the value for a formula), then letters, digits,
# spaces and . _ : / @ + = , ( ) # % -. AWS's own identifiers fit (instance
# ids, ARNs, `AWS/EC2`, `Amazon Elastic Compute Cloud`, `us-east-1`, `Bytes/Second`); markup
# (< > & quotes), control characters and other scripts do not, so no identifier can carry
# HTML into a report, a Markdown page or a chat message. A row that breaks it is quarantined.
IDENTIFIER_CHARACTERS = r"A-Za-z0-9 ._:/@+=,()#%\-"
IDENTIFIER_PATTERN = rf"^[A-Za-z0-9%][{IDENTIFIER_CHARACTERS}]*$"
IDENTIFIER_MAX_CHARS = 256

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
