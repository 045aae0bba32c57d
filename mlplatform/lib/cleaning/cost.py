"""raw/cost_usage (FOCUS text rows) to clean/cost_daily: daily cost per account and service."""

from __future__ import annotations

from datetime import date

import polars as pl

from mlplatform.lib.cleaning.common import CleanResult, superseded
from mlplatform.lib.cleaning.quarantine import (
    combine,
    quarantine_table,
    rejections,
    schema_rejections,
)
from mlplatform.lib.cleaning.schemas import cost_line_schema
from mlplatform.lib.ingest.catalog import COST_DAILY_KEY, COST_OPTIONAL, COST_REQUIRED
from mlplatform.lib.ingest.timestamps import parse_utc

# FOCUS allows these to be null (e.g. a support charge has no resource, region or usage).
NULLABLE = ("ResourceId", "RegionId", "ConsumedQuantity", "ConsumedUnit")
_TEXT = {
    "BillingCurrency": "billing_currency",
    "ServiceName": "service_name",
    "ServiceCategory": "service_category",
    "SubAccountId": "sub_account_id",
    "ChargeCategory": "charge_category",
    "ResourceId": "resource_id",
    "RegionId": "region_id",
    "ConsumedUnit": "consumed_unit",
}
_NUMBERS = {
    "BilledCost": "billed_cost",
    "EffectiveCost": "effective_cost",
    "ConsumedQuantity": "consumed_quantity",
}
_TIMES = {"ChargePeriodStart": "charge_period_start", "ChargePeriodEnd": "charge_period_end"}
DAILY_COLUMNS: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "sub_account_id": pl.String(),
    "service_name": pl.String(),
    "service_category": pl.String(),
    "region_id": pl.String(),
    "resource_id": pl.String(),
    "charge_category": pl.String(),
    "billing_currency": pl.String(),
    "billed_cost": pl.Float64(),
    "effective_cost": pl.Float64(),
    "source_rows": pl.Int64(),
}
DAILY_KEY = list(COST_DAILY_KEY)


def parse_cost(raw: pl.DataFrame) -> pl.DataFrame:
    return raw.with_row_index("_row").with_columns(
        *[pl.col(src).str.strip_chars().alias(dst) for src, dst in _TEXT.items()],
        *[
            pl.col(src).str.strip_chars().cast(pl.Float64, strict=False).alias(dst)
            for src, dst in _NUMBERS.items()
        ],
        *[parse_utc(pl.col(src)).alias(dst) for src, dst in _TIMES.items()],
    )


def clean_cost(raw: pl.DataFrame, day: date) -> CleanResult:
    parsed = parse_cost(raw)
    ok_file = pl.col("file_error").is_null()
    problems = [
        rejections(parsed, ~ok_file, None, pl.col("file_error")),
        *[
            rejections(
                parsed, pl.col(c).is_null() & ok_file, c, f"missing value in required column {c!r}"
            )
            for c in COST_REQUIRED
            if c not in NULLABLE
        ],
        *[
            rejections(
                parsed,
                pl.col(src).is_not_null() & pl.col(dst).is_null(),
                src,
                pl.lit("not a number: ") + pl.col(src),
            )
            for src, dst in _NUMBERS.items()
        ],
        *[
            rejections(
                parsed,
                pl.col(src).is_not_null() & pl.col(dst).is_null(),
                src,
                pl.lit("unparseable timestamp: ") + pl.col(src),
            )
            for src, dst in _TIMES.items()
        ],
    ]
    candidates = parsed.join(combine(problems).select("_row"), on="_row", how="anti")
    typed = [*_TEXT.values(), *_NUMBERS.values(), *_TIMES.values()]
    problems.append(schema_rejections(candidates.select("_row", *typed), cost_line_schema(day)))
    valid = candidates.join(combine(problems).select("_row"), on="_row", how="anti")
    key = [
        "sub_account_id",
        "resource_id",
        "service_name",
        "charge_category",
        "consumed_unit",
        "charge_period_start",
        "charge_period_end",
    ]
    problems.append(superseded(valid, key))
    rejected = combine(problems)
    accepted = valid.join(rejected.select("_row"), on="_row", how="anti")
    return CleanResult(
        clean=daily(accepted),
        quarantine=quarantine_table(raw, rejected, day, "cost", [*COST_REQUIRED, *COST_OPTIONAL]),
        accepted_rows=accepted.height,
        raw_rows=raw.height,
    )


def daily(lines: pl.DataFrame) -> pl.DataFrame:
    return (
        lines.with_columns(date=pl.col("charge_period_start").dt.date())
        .group_by(DAILY_KEY)
        .agg(
            pl.col("billed_cost").sum(),
            pl.col("effective_cost").sum(),
            pl.len().cast(pl.Int64).alias("source_rows"),
        )
        .select(list(DAILY_COLUMNS))
        .cast(DAILY_COLUMNS)  # type: ignore[arg-type]
        .sort(DAILY_KEY, nulls_last=True)
    )
