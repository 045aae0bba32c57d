"""Collecting rejected rows with their reasons, and building the quarantine table."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import polars as pl

from mlplatform.lib.cleaning.schemas import QUARANTINE_COLUMNS

if TYPE_CHECKING:
    import pandera.polars as pa

REJECTION_COLUMNS = {"_row": pl.UInt32(), "column": pl.String(), "reason": pl.String()}


def rejections(
    frame: pl.DataFrame, mask: pl.Expr, column: str | None, reason: pl.Expr | str
) -> pl.DataFrame:
    """(_row, column, reason) for the rows of `frame` where `mask` holds."""
    reason_expr = pl.lit(reason) if isinstance(reason, str) else reason
    return frame.filter(mask).select(
        pl.col("_row").cast(pl.UInt32),
        pl.lit(column, dtype=pl.String).alias("column"),
        reason_expr.cast(pl.String).alias("reason"),
    )


def schema_rejections(frame: pl.DataFrame, schema: pa.DataFrameSchema) -> pl.DataFrame:
    """Validate `frame` with Pandera and turn every failure case into a rejection of its row."""
    import pandera.polars as pa

    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases.filter(pl.col("index").is_not_null())
        rows = frame["_row"].gather(cases["index"].cast(pl.UInt32))
        return pl.DataFrame(
            {
                "_row": rows.cast(pl.UInt32),
                "column": cases["column"].cast(pl.String),
                "reason": _reason(cases),
            },
            schema=REJECTION_COLUMNS,
        )
    return pl.DataFrame(schema=REJECTION_COLUMNS)


def _reason(cases: pl.DataFrame) -> pl.Series:
    """A readable reason: the check's name and the offending value."""
    return cases.select(
        pl.when(pl.col("check") == "not_nullable")
        .then(pl.lit("missing or NaN value"))
        .otherwise(pl.col("check").cast(pl.String))
        + pl.lit(" (value: ")
        + pl.col("failure_case").cast(pl.String).fill_null("null")
        + pl.lit(")")
    ).to_series()


def combine(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """One row per rejected row: its columns and reasons joined, so every row counts once."""
    if not parts:
        return pl.DataFrame(schema=REJECTION_COLUMNS)
    return (
        pl.concat(parts)
        .group_by("_row", maintain_order=True)
        .agg(
            pl.col("column").drop_nulls().unique(maintain_order=True).str.join(", "),
            pl.col("reason").unique(maintain_order=True).str.join("; "),
        )
        .with_columns(
            pl.when(pl.col("column") == "").then(None).otherwise("column").alias("column")
        )
    )


def quarantine_table(
    raw: pl.DataFrame, rejected: pl.DataFrame, day: date, source: str, source_columns: list[str]
) -> pl.DataFrame:
    """The quarantine rows for `rejected`: where each came from, why, and its raw values."""
    record_cols = [c for c in [*source_columns, "extra"] if c in raw.columns]
    joined = rejected.join(raw.with_row_index("_row"), on="_row", how="left")
    return joined.select(
        pl.lit(day).alias("date"),
        pl.lit(source).alias("source"),
        pl.col("source_file"),
        pl.col("source_line"),
        pl.col("column"),
        pl.col("reason"),
        pl.struct(record_cols).struct.json_encode().alias("record"),
    ).cast(QUARANTINE_COLUMNS)  # type: ignore[arg-type]
