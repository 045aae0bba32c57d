"""What the clean layer's checks measure: Pandera failure cases and row conservation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from mlplatform.lib.cleaning.common import CleanResult, Conservation

if TYPE_CHECKING:
    import pandera.polars as pa

FAILURE_CASE_COLUMNS = {"column": pl.String, "check": pl.String, "failure_case": pl.String}


def schema_failures(frame: pl.DataFrame, schema: pa.DataFrameSchema) -> pl.DataFrame:
    """Every failure case of `frame` against `schema` (column, check, value); empty if valid."""
    import pandera.polars as pa  # on first use: it is slow to import and the UI needs it not

    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        return cases.select(
            pl.col(name).cast(pl.String) if name in cases.columns else pl.lit(None, pl.String)
            for name in FAILURE_CASE_COLUMNS
        )
    return pl.DataFrame(schema=FAILURE_CASE_COLUMNS)


def conservation(raw: pl.DataFrame, result: CleanResult, source: str) -> Conservation:
    """raw rows = rows behind the clean tables + the source's quarantined rows."""
    return Conservation(
        raw_rows=raw.height,
        clean_source_rows=sum(int(t["source_rows"].sum()) for t in result.tables()),
        quarantined=result.quarantine.filter(pl.col("source") == source).height,
    )
