"""SQL over the lake wherever it lives: Polars scans each table's Parquet files (a local
folder or s3://, which DuckDB's httpfs extension cannot reach here) and an in-memory DuckDB
queries them as views named `<layer>.<table>`, the same names as the warehouse file's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import duckdb
import polars as pl


def query_lake(
    sql: str, tables: Mapping[str, str], storage_options: dict[str, Any] | None = None
) -> pl.DataFrame:
    """Run `sql` with a view for every `"layer.table": parquet_glob` of `tables`."""
    con = duckdb.connect()
    for name, glob in tables.items():
        layer, table = name.split(".", 1)
        scan = pl.scan_parquet(glob, storage_options=storage_options, missing_columns="insert")
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{layer}"')
        con.register(f"{layer}__{table}", scan)
        con.execute(f'CREATE VIEW "{layer}"."{table}" AS SELECT * FROM "{layer}__{table}"')
    return con.sql(sql).pl()
