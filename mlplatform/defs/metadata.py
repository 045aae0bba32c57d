"""Metadata for people: row counts, a markdown preview and the column schema."""

from typing import Any

import dagster as dg
import polars as pl

PREVIEW_ROWS = 5


def markdown_preview(frame: pl.DataFrame, rows: int = PREVIEW_ROWS, max_columns: int = 12) -> str:
    shown = frame.head(rows).select(frame.columns[:max_columns])
    with pl.Config(
        tbl_formatting="ASCII_MARKDOWN",
        tbl_hide_column_data_types=True,
        tbl_hide_dataframe_shape=True,
        tbl_cols=max_columns,
        tbl_rows=rows,
        fmt_str_lengths=40,
    ):
        text = str(shown)
    more = frame.width - shown.width
    return text + (f"\n\n…and {more} more columns" if more > 0 else "")


def column_schema(
    schema: dict[str, pl.DataType] | pl.Schema, descriptions: dict[str, str] | None = None
) -> dg.TableSchema:
    descriptions = descriptions or {}
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, str(dtype), description=descriptions.get(name))
            for name, dtype in schema.items()
        ]
    )


def table_metadata(frame: pl.DataFrame) -> dict[str, Any]:
    return {
        "dagster/row_count": frame.height,
        "dagster/column_schema": column_schema(frame.schema),
        "preview": dg.MetadataValue.md(markdown_preview(frame)),
    }
