"""SQL over the lake wherever it lives: Polars scans each table's Parquet files (a local
folder or s3://, which DuckDB's httpfs extension cannot reach here) and an in-memory DuckDB
queries them as views named `<layer>.<table>`, the same names as the warehouse file's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import polars as pl

from mlplatform.lib.lake.columns import comment_view
from mlplatform.lib.lake.identifiers import quoted


def query_lake(
    sql: str, tables: Mapping[str, Sequence[str]], storage_options: dict[str, Any] | None = None
) -> pl.DataFrame | None:
    """Run `sql` with a view for every `"layer.table": [parquet file, ...]` of `tables`.

    A table's partitions need not share one schema: a column added in a later release, or one
    a day could not compute yet, is NULL in the partitions without it (a scan takes the
    first file's schema and fails on the others). Each row has its file in `filename`, as in
    the warehouse's views: the day of a table without a date column is its partition's. Columns
    carry what they mean as comments: `SELECT * FROM duckdb_columns()` lists them.

    Table names come from the lake's folders, which anyone who can write to it names: they are
    quoted as identifiers, never spliced into SQL. A statement that returns no rows (`SET`,
    `CREATE`) gives None."""
    con = duckdb.connect()
    for i, (name, files) in enumerate(tables.items()):
        layer, table = name.split(".", 1)
        scans = [
            pl.scan_parquet(f, storage_options=storage_options, include_file_paths="filename")
            for f in files
        ]
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted(layer)}")
        con.register(f"_lake_scan_{i}", pl.concat(scans, how="diagonal_relaxed"))
        con.execute(f"CREATE VIEW {quoted(layer)}.{quoted(table)} AS SELECT * FROM _lake_scan_{i}")
        comment_view(con, name)
    result = con.sql(sql)
    return None if result is None else result.pl()
