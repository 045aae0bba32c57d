"""raw/cloudwatch_metrics (long text rows) to clean/metrics_hourly (wide hourly table)."""

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
from mlplatform.lib.cleaning.schemas import metric_observation_schema
from mlplatform.lib.ingest.catalog import (
    GAUGES,
    METRIC_ALIASES,
    METRICS,
    METRICS_OPTIONAL,
    METRICS_REQUIRED,
)
from mlplatform.lib.ingest.timestamps import occurrence_ambiguity, parse_utc

HOURLY_COLUMNS: dict[str, pl.DataType] = {
    "resource_id": pl.String(),
    "ts": pl.Datetime("us", "UTC"),
    **{m: pl.Float64() for m in METRICS},
    "service": pl.String(),
    "region": pl.String(),
    "namespace": pl.String(),
    "source_rows": pl.Int64(),
}


def parse_metrics(raw: pl.DataFrame, naive_timezone: str = "UTC") -> pl.DataFrame:
    """Typed columns beside the raw text: `ts`, `metric`, `value` (null where unparseable)."""
    value_text = pl.col("value").str.strip_chars()
    return raw.with_row_index("_row").with_columns(
        ts=parse_utc(
            pl.col("timestamp"),
            naive_timezone,
            occurrence_ambiguity("source_file", "resource_id", "metric_name", "timestamp"),
        ),
        metric=pl.col("metric_name").str.strip_chars().replace_strict(METRIC_ALIASES, default=None),
        value_f=value_text.cast(pl.Float64, strict=False),
        resource_id=pl.col("resource_id").str.strip_chars(),
    )


def clean_metrics(raw: pl.DataFrame, day: date, naive_timezone: str = "UTC") -> CleanResult:
    parsed = parse_metrics(raw, naive_timezone)
    problems = [
        rejections(parsed, pl.col("file_error").is_not_null(), None, pl.col("file_error")),
        *[
            rejections(
                parsed,
                pl.col(c).is_null() & pl.col("file_error").is_null(),
                c,
                f"missing value in required column {c!r}",
            )
            for c in METRICS_REQUIRED
        ],
        rejections(
            parsed,
            pl.col("timestamp").is_not_null() & pl.col("ts").is_null(),
            "timestamp",
            pl.lit("unparseable timestamp or non-existent local time: ") + pl.col("timestamp"),
        ),
        rejections(
            parsed,
            pl.col("metric_name").is_not_null() & pl.col("metric").is_null(),
            "metric_name",
            pl.lit("unknown metric_name: ") + pl.col("metric_name"),
        ),
        rejections(
            parsed,
            pl.col("value").is_not_null() & pl.col("value_f").is_null(),
            "value",
            pl.lit("not a number: ") + pl.col("value"),
        ),
    ]
    first_pass = combine(problems)
    candidates = parsed.join(first_pass.select("_row"), on="_row", how="anti").with_columns(
        value=pl.col("value_f")
    )
    problems.append(
        schema_rejections(
            candidates.select("_row", "resource_id", "metric", "ts", "value"),
            metric_observation_schema(day),
        )
    )
    valid = candidates.join(combine(problems).select("_row"), on="_row", how="anti")
    # NetworkIn and NetworkOut share a metric but not a key: dedup on the name as sent.
    problems.append(superseded(valid, ["resource_id", "metric_name", "ts"]))
    rejected = combine(problems)
    accepted = valid.join(rejected.select("_row"), on="_row", how="anti")

    columns = [*METRICS_REQUIRED, *METRICS_OPTIONAL]
    return CleanResult(
        clean=hourly(accepted),
        quarantine=quarantine_table(raw, rejected, day, "metrics", columns),
        accepted_rows=accepted.height,
        raw_rows=raw.height,
    )


def hourly(observations: pl.DataFrame) -> pl.DataFrame:
    """Wide hourly table: mean of gauge samples, sum of counter samples, per resource and hour."""
    obs = observations.with_columns(hour=pl.col("ts").dt.truncate("1h"))
    per_metric = obs.group_by("resource_id", "hour", "metric").agg(
        pl.when(pl.col("metric").first().is_in(list(GAUGES)))
        .then(pl.col("value").mean())
        .otherwise(pl.col("value").sum())
        .alias("value"),
        pl.len().alias("n"),
    )
    wide = (
        per_metric.pivot(on="metric", index=["resource_id", "hour"], values="value")
        .join(
            per_metric.group_by("resource_id", "hour").agg(pl.col("n").sum().alias("source_rows")),
            on=["resource_id", "hour"],
        )
        .rename({"hour": "ts"})
    )
    attributes = (
        obs.sort("ts")
        .group_by("resource_id")
        .agg(*[pl.col(c).drop_nulls().last().alias(c) for c in ("service", "region", "namespace")])
    )
    missing = [m for m in METRICS if m not in wide.columns]
    return (
        wide.with_columns(*[pl.lit(None, dtype=pl.Float64).alias(m) for m in missing])
        .join(attributes, on="resource_id", how="left")
        .select(list(HOURLY_COLUMNS))
        .cast(HOURLY_COLUMNS)  # type: ignore[arg-type]
        .sort("resource_id", "ts")
    )
