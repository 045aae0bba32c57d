"""Metadata for people: row counts, a markdown preview and the column schema."""

from typing import Any

import dagster as dg
import polars as pl

PREVIEW_ROWS = 5


def markdown_preview(frame: pl.DataFrame, rows: int = PREVIEW_ROWS, max_columns: int = 12) -> str:
    """The first rows as a Markdown table, cells cut at 40 characters."""
    shown = frame.head(rows).select(frame.columns[:max_columns])

    def cell(value: object) -> str:
        text = "" if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)
        return text[:40].replace("|", "\\|").replace("\n", " ")

    lines = [
        "| " + " | ".join(shown.columns) + " |",
        "|" + "---|" * shown.width,
        *("| " + " | ".join(cell(v) for v in row) + " |" for row in shown.iter_rows()),
    ]
    more = frame.width - shown.width
    return "\n".join(lines) + (f"\n\n…and {more} more columns" if more > 0 else "")


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
