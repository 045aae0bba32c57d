"""Metadata for people: row counts, a markdown preview and the column schema with what each
column means (`lib/lake/columns.py`)."""

import math
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

import dagster as dg
import polars as pl

from mlplatform.lib.lake.columns import describe_column
from mlplatform.lib.serving.incidents import ui_path

PREVIEW_ROWS = 5
# characters that make Markdown markup (HTML, links, images, code, emphasis, table cells); a
# data value is shown as the text it is
MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]<>|~])")


def markdown_text(value: object, limit: int = 40) -> str:
    """A data value as one Markdown table cell's literal text, cut at `limit` characters: a
    resource named `<img src=x onerror=...>` or `[click](http://...)` is shown, not rendered."""
    text = "" if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)
    text = " ".join(text[:limit].split())
    return MARKDOWN_SPECIAL.sub(r"\\\1", text)


def markdown_preview(frame: pl.DataFrame, rows: int = PREVIEW_ROWS, max_columns: int = 12) -> str:
    """The first rows as a Markdown table, cells cut at 40 characters."""
    shown = frame.head(rows).select(frame.columns[:max_columns])

    lines = [
        "| " + " | ".join(markdown_text(c) for c in shown.columns) + " |",
        "|" + "---|" * shown.width,
        *("| " + " | ".join(markdown_text(v) for v in row) + " |" for row in shown.iter_rows()),
    ]
    more = frame.width - shown.width
    return "\n".join(lines) + (f"\n\n…and {more} more columns" if more > 0 else "")


def table_name(key: dg.AssetKey) -> str:
    """The asset's table as the warehouse and `mlplatform sql` name it: `layer.name`."""
    return ".".join(key.path)


def column_schema(schema: dict[str, pl.DataType] | pl.Schema, key: dg.AssetKey) -> dg.TableSchema:
    table = table_name(key)
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, str(dtype), description=describe_column(table, name))
            for name, dtype in schema.items()
        ]
    )


def table_metadata(frame: pl.DataFrame, key: dg.AssetKey) -> dict[str, Any]:
    return {
        "dagster/row_count": frame.height,
        "dagster/column_schema": column_schema(frame.schema, key),
        "preview": dg.MetadataValue.md(markdown_preview(frame)),
    }


def range_metadata(frames: Mapping[str, pl.DataFrame], key: dg.AssetKey) -> dict[str, Any]:
    """A run over several partitions: Dagster gives each partition the run's metadata, so it
    names the partitions and their rows instead of one row count that would fit none of them."""
    first = next(iter(frames.values()))
    return {
        "run_partitions": len(frames),
        "rows_by_partition": json_metadata({k: f.height for k, f in frames.items()}),
        "dagster/column_schema": column_schema(first.schema, key),
        "preview": dg.MetadataValue.md(markdown_preview(first)),
    }


def by_day(values: Mapping[str, Mapping[str, float | int]]) -> dict[str, Any]:
    """Per-partition figures of one run: each figure as the run's total (or the single
    partition's value) and, over several partitions, the table of them by partition."""
    if len(values) == 1:
        return dict(next(iter(values.values())))
    names = list(next(iter(values.values())))
    totals: dict[str, Any] = {n: sum(v[n] for v in values.values()) for n in names}
    return totals | {"by_partition": json_metadata({k: dict(v) for k, v in values.items()})}


def json_metadata(value: Any) -> dg.JsonMetadataValue:
    """JSON metadata with NaN and infinities as null, which JSON has no words for."""

    def clean(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, float) and not math.isfinite(v):
            return None
        return v

    return dg.MetadataValue.json(clean(value))


def incidents_markdown(incidents: pl.DataFrame, day: str, rows: int = 10) -> str:
    """The day's most severe incidents as a Markdown table, each row linking to the day."""
    link = f"[{markdown_text(day)}]({ui_path(date.fromisoformat(day))})"
    header = "| severity | scope | where | hours (UTC) | first mover | series | partition |"
    lines = [header, "|---|---|---|---|---|---|---|"]
    for r in incidents.head(rows).iter_rows(named=True):
        where = r["resources"][0] if r["scope"] == "resource" else f"{r['service']} {r['region']}"
        hours = f"{r['start']:%H:%M}-{r['end']:%H:%M}"
        series = ", ".join(r["series"][:3]) + (" …" if len(r["series"]) > 3 else "")
        cells = [r["severity"], r["scope"], where, hours, r["first_mover"], series]
        lines.append("| " + " | ".join(markdown_text(c, 80) for c in cells) + f" | {link} |")
    more = incidents.height - rows
    return "\n".join(lines) + (f"\n\n…and {more} more" if more > 0 else "")
