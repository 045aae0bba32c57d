"""SQL over the lake wherever it lives: Polars scans each table's Parquet files (a local
folder or s3://, which DuckDB's httpfs extension cannot reach here) and an in-memory DuckDB
queries them as views named `<layer>.<table>`, the same names as the warehouse file's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import polars as pl

from mlplatform.lib.lake.columns import comment_view


def query_lake(
    sql: str, tables: Mapping[str, Sequence[str]], storage_options: dict[str, Any] | None = None
) -> pl.DataFrame:
    """Run `sql` with a view for every `"layer.table": [parquet file, ...]` of `tables`.

    A table's partitions need not share one schema: a column added in a later release, or one
    a day could not compute yet, is NULL in the partitions without it (a scan takes the
    first file's schema and fails on the others). Each row has its file in `filename`, as in
    the warehouse's views: the day of a table without a date column is its partition's. Columns
    carry what they mean as comments: `SELECT * FROM duckdb_columns()` lists them."""
    con = duckdb.connect()
    for name, files in tables.items():
        layer, table = name.split(".", 1)
        scans = [
            pl.scan_parquet(f, storage_options=storage_options, include_file_paths="filename")
            for f in files
        ]
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{layer}"')
        con.register(f"{layer}__{table}", pl.concat(scans, how="diagonal_relaxed"))
        con.execute(f'CREATE VIEW "{layer}"."{table}" AS SELECT * FROM "{layer}__{table}"')
        comment_view(con, name)
    return con.sql(sql).pl()
