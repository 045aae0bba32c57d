"""Pandera (polars) schemas of every table, and the human reasons behind their checks.

Schemas are built on first use: importing pandera costs about two seconds, which the code
location would otherwise pay at every load.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

import polars as pl

from mlplatform.lib.ingest.catalog import (
    COST_DAILY_KEY,
    IDENTIFIER_MAX_CHARS,
    IDENTIFIER_PATTERN,
    METRICS,
    NEGATIVE_COST_CATEGORIES,
    PERCENT_METRICS,
)
from mlplatform.lib.ingest.timestamps import UTC

if TYPE_CHECKING:
    import pandera.polars as pa


def _check(name: str, expr_for: object, element_wise: bool = False) -> pa.Check:
    """A named custom check whose name doubles as the quarantine reason."""
    import pandera.polars as pa

    return pa.Check(expr_for, name=name, error=name, element_wise=element_wise)


def _finite(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col(data.key).is_finite())


def _non_empty(name: str) -> pa.Check:
    return _check(f"empty {name}", lambda d: d.lazyframe.select(pl.col(d.key).str.len_chars() > 0))


def identifier_check() -> pa.Check:
    """The identifier contract (`catalog.IDENTIFIER_PATTERN`); nulls and empty text are left
    to `nullable` and `_non_empty`, which say so in their own words."""
    return _check(
        f"not an identifier (1-{IDENTIFIER_MAX_CHARS} letters, digits, spaces and "
        "._:/@+=,()#%-, a letter, digit or % first)",
        lambda d: d.lazyframe.select(
            pl.col(d.key).is_null()
            | (pl.col(d.key) == "")
            | (
                pl.col(d.key).str.contains(IDENTIFIER_PATTERN)
                & (pl.col(d.key).str.len_chars() <= IDENTIFIER_MAX_CHARS)
            )
        ),
    )


def _within_day(day: date) -> pa.Check:
    lo = pl.lit(datetime(day.year, day.month, day.day)).dt.replace_time_zone("UTC")
    hi = pl.lit(datetime(day.year, day.month, day.day) + timedelta(days=1)).dt.replace_time_zone(
        "UTC"
    )
    return _check(
        f"outside the partition day {day.isoformat()}",
        lambda d: d.lazyframe.select((pl.col(d.key) >= lo) & (pl.col(d.key) < hi)),
    )


def _hour_start() -> pa.Check:
    return _check(
        "not the start of an hour",
        lambda d: d.lazyframe.select(pl.col(d.key).dt.truncate("1h") == pl.col(d.key)),
    )


def metric_observation_schema(day: date) -> pa.DataFrameSchema:
    """One parsed landing row of the long metrics format: a catalog metric (`in_catalog`) or
    any other, whose meaning the platform does not know (so it may be negative)."""
    import pandera.polars as pa

    percent = list(PERCENT_METRICS)
    return pa.DataFrameSchema(
        {
            "resource_id": pa.Column(pl.String, [_non_empty("resource_id"), identifier_check()]),
            "metric": pa.Column(pl.String, [_non_empty("metric"), identifier_check()]),
            **{
                c: pa.Column(pl.String, identifier_check(), nullable=True, required=False)
                for c in ("service", "region", "namespace", "unit")
            },
            "ts": pa.Column(UTC, _within_day(day)),
            "value": pa.Column(
                pl.Float64,
                [
                    _check("value is NaN or infinite", _finite),
                    _check(
                        "negative value",
                        lambda d: d.lazyframe.select(~pl.col("in_catalog") | (pl.col(d.key) >= 0)),
                    ),
                    _check(
                        "percentage above 100",
                        lambda d: d.lazyframe.select(
                            ~pl.col("metric").is_in(percent) | (pl.col(d.key) <= 100)
                        ),
                    ),
                ],
                nullable=True,  # nulls never get here: parsing rejects them with a clearer reason
            ),
        },
        strict=False,
        name="metric_observation",
    )


@lru_cache(maxsize=1)
def metrics_hourly_schema() -> pa.DataFrameSchema:
    import pandera.polars as pa

    return pa.DataFrameSchema(
        {
            "resource_id": pa.Column(pl.String, pa.Check.str_length(min_value=1)),
            "ts": pa.Column(UTC, _hour_start()),
            "cpu_utilization": pa.Column(pl.Float64, pa.Check.in_range(0, 100), nullable=True),
            "memory_utilization": pa.Column(pl.Float64, pa.Check.in_range(0, 100), nullable=True),
            "network_io": pa.Column(pl.Float64, pa.Check.ge(0), nullable=True),
            "request_count": pa.Column(pl.Float64, pa.Check.ge(0), nullable=True),
            "source_rows": pa.Column(pl.Int64, pa.Check.ge(1)),
        },
        unique=["resource_id", "ts"],
        strict=False,
        name="metrics_hourly",
    )


@lru_cache(maxsize=1)
def other_metrics_hourly_schema() -> pa.DataFrameSchema:
    import pandera.polars as pa

    return pa.DataFrameSchema(
        {
            "resource_id": pa.Column(pl.String, pa.Check.str_length(min_value=1)),
            "metric": pa.Column(
                pl.String,
                [
                    pa.Check.str_length(min_value=1),
                    _check(
                        "a catalog metric (it belongs in metrics_hourly)",
                        lambda d: d.lazyframe.select(~pl.col(d.key).is_in(list(METRICS))),
                    ),
                ],
            ),
            "ts": pa.Column(UTC, _hour_start()),
            "value": pa.Column(pl.Float64, _check("value is NaN or infinite", _finite)),
            "source_rows": pa.Column(pl.Int64, pa.Check.ge(1)),
        },
        unique=["resource_id", "metric", "ts"],
        strict=False,
        name="other_metrics_hourly",
    )


def cost_line_schema(day: date) -> pa.DataFrameSchema:
    """One parsed FOCUS cost line."""
    import pandera.polars as pa

    credits = list(NEGATIVE_COST_CATEGORIES)
    finite_cost = _check("cost is NaN or infinite", _finite)
    return pa.DataFrameSchema(
        {
            "charge_period_start": pa.Column(UTC, _within_day(day)),
            "charge_period_end": pa.Column(
                UTC,
                _check(
                    "charge period ends before it starts",
                    lambda d: d.lazyframe.select(pl.col(d.key) > pl.col("charge_period_start")),
                ),
            ),
            "billed_cost": pa.Column(
                pl.Float64,
                [
                    finite_cost,
                    _check(
                        "negative cost on a usage charge",
                        lambda d: d.lazyframe.select(
                            pl.col("charge_category").is_in(credits) | (pl.col(d.key) >= 0)
                        ),
                    ),
                ],
                nullable=True,
            ),
            "effective_cost": pa.Column(pl.Float64, finite_cost, nullable=True),
            "consumed_quantity": pa.Column(
                pl.Float64,
                [
                    _check("quantity is NaN or infinite", _finite),
                    _check("negative quantity", lambda d: d.lazyframe.select(pl.col(d.key) >= 0)),
                ],
                nullable=True,
            ),
            "billing_currency": pa.Column(
                pl.String,
                _check(
                    "billing currency is not a 3-letter ISO 4217 code",
                    lambda d: d.lazyframe.select(pl.col(d.key).str.contains(r"^[A-Z]{3}$")),
                ),
            ),
            **{
                c: pa.Column(pl.String, [_non_empty(c), identifier_check()])
                for c in ("service_name", "service_category", "sub_account_id", "charge_category")
            },
            "resource_id": pa.Column(pl.String, identifier_check(), nullable=True),
            "region_id": pa.Column(pl.String, identifier_check(), nullable=True),
        },
        strict=False,
        name="cost_line",
    )


@lru_cache(maxsize=1)
def cost_daily_schema() -> pa.DataFrameSchema:
    import pandera.polars as pa

    return pa.DataFrameSchema(
        {
            "date": pa.Column(pl.Date),
            "sub_account_id": pa.Column(pl.String),
            "service_name": pa.Column(pl.String),
            "service_category": pa.Column(pl.String),
            "region_id": pa.Column(pl.String, nullable=True),
            "resource_id": pa.Column(pl.String, nullable=True),
            "charge_category": pa.Column(pl.String),
            "billing_currency": pa.Column(pl.String),
            "billed_cost": pa.Column(pl.Float64, _check("cost is NaN or infinite", _finite)),
            "effective_cost": pa.Column(pl.Float64, _check("cost is NaN or infinite", _finite)),
            "source_rows": pa.Column(pl.Int64, pa.Check.ge(1)),
        },
        unique=list(COST_DAILY_KEY),
        strict=False,
        name="cost_daily",
    )


QUARANTINE_COLUMNS: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "source": pl.String(),
    "source_file": pl.String(),
    "source_line": pl.Int64(),
    "column": pl.String(),
    "reason": pl.String(),
    "record": pl.String(),
}


@lru_cache(maxsize=1)
def quarantine_schema() -> pa.DataFrameSchema:
    import pandera.polars as pa

    return pa.DataFrameSchema(
        {
            "date": pa.Column(pl.Date),
            "source": pa.Column(pl.String, pa.Check.isin(["metrics", "cost"])),
            "source_file": pa.Column(pl.String),
            "source_line": pa.Column(pl.Int64, nullable=True),
            "column": pa.Column(pl.String, nullable=True),
            "reason": pa.Column(pl.String, pa.Check.str_length(min_value=1)),
            "record": pa.Column(pl.String),
        },
        strict=True,
        name="quarantine",
    )
