"""raw/cloudwatch_metrics (long text rows) to clean/metrics_hourly (the catalog's metrics, wide
hourly table) and clean/other_metrics_hourly (any other metric, long hourly table)."""

from __future__ import annotations

from dataclasses import dataclass
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
    METRIC_NAME_MAX_CHARS,
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
OTHER_HOURLY_COLUMNS: dict[str, pl.DataType] = {
    "resource_id": pl.String(),
    "metric": pl.String(),
    "ts": pl.Datetime("us", "UTC"),
    "value": pl.Float64(),
    "service": pl.String(),
    "region": pl.String(),
    "namespace": pl.String(),
    "source_rows": pl.Int64(),
}
ATTRIBUTES = ("service", "region", "namespace")
IDENTIFIERS = (*ATTRIBUTES, "unit")  # checked against the identifier contract with the rest


@dataclass(frozen=True)
class MetricsCleanResult(CleanResult):
    other: pl.DataFrame  # metrics outside the catalog, OTHER_HOURLY_COLUMNS

    def tables(self) -> tuple[pl.DataFrame, ...]:
        return (self.clean, self.other)


def parse_metrics(raw: pl.DataFrame, naive_timezone: str = "UTC") -> pl.DataFrame:
    """Typed columns beside the raw text: `ts`, `metric` (the catalog's name, or the name as
    sent), `in_catalog`, `value` (null where unparseable)."""
    value_text = pl.col("value").str.strip_chars()
    name = pl.col("metric_name").str.strip_chars()
    alias = name.replace_strict(METRIC_ALIASES, default=None)
    return raw.with_row_index("_row").with_columns(
        ts=parse_utc(
            pl.col("timestamp"),
            naive_timezone,
            occurrence_ambiguity("source_file", "resource_id", "metric_name", "timestamp"),
        ),
        metric=pl.coalesce(alias, name),
        in_catalog=alias.is_not_null(),
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
            pl.col("metric_name").is_not_null() & ~_valid_name(pl.col("metric")),
            "metric_name",
            pl.lit(f"not a metric name (1 to {METRIC_NAME_MAX_CHARS} printable characters): ")
            + pl.col("metric_name"),
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
            candidates.select(
                "_row", "resource_id", "metric", "in_catalog", "ts", "value", *IDENTIFIERS
            ),
            metric_observation_schema(day),
        )
    )
    valid = candidates.join(combine(problems).select("_row"), on="_row", how="anti")
    # NetworkIn and NetworkOut share a metric but not a key: dedup on the name as sent.
    problems.append(superseded(valid, ["resource_id", "metric_name", "ts"]))
    rejected = combine(problems)
    accepted = valid.join(rejected.select("_row"), on="_row", how="anti")

    columns = [*METRICS_REQUIRED, *METRICS_OPTIONAL]
    return MetricsCleanResult(
        clean=hourly(accepted.filter("in_catalog")),
        other=other_hourly(accepted.filter(~pl.col("in_catalog"))),
        quarantine=quarantine_table(raw, rejected, day, "metrics", columns),
        accepted_rows=accepted.height,
        raw_rows=raw.height,
    )


def _valid_name(name: pl.Expr) -> pl.Expr:
    return name.str.len_chars().is_between(1, METRIC_NAME_MAX_CHARS) & ~name.str.contains(
        r"[\x00-\x1f\x7f]"
    )


def _attributes(obs: pl.DataFrame) -> pl.DataFrame:
    """Each resource's latest service, region and namespace."""
    return (
        obs.sort("ts")
        .group_by("resource_id")
        .agg(*[pl.col(c).drop_nulls().last().alias(c) for c in ATTRIBUTES])
    )


def other_hourly(observations: pl.DataFrame) -> pl.DataFrame:
    """Long hourly table of metrics outside the catalog: their kind is unknown, so each hour
    is the mean of its samples, which a missing sample does not pull down as a sum would."""
    obs = observations.with_columns(hour=pl.col("ts").dt.truncate("1h"))
    return (
        obs.group_by("resource_id", "metric", "hour")
        .agg(pl.col("value").mean(), pl.len().alias("source_rows"))
        .rename({"hour": "ts"})
        .join(_attributes(obs), on="resource_id", how="left")
        .select(list(OTHER_HOURLY_COLUMNS))
        .cast(OTHER_HOURLY_COLUMNS)  # type: ignore[arg-type]
        .sort("resource_id", "metric", "ts")
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
    missing = [m for m in METRICS if m not in wide.columns]
    return (
        wide.with_columns(*[pl.lit(None, dtype=pl.Float64).alias(m) for m in missing])
        .join(_attributes(obs), on="resource_id", how="left")
        .select(list(HOURLY_COLUMNS))
        .cast(HOURLY_COLUMNS)  # type: ignore[arg-type]
        .sort("resource_id", "ts")
    )
