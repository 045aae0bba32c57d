"""The warehouse: a DuckDB file of views over the lake, for SQL browsing.

Views read the lake's Parquet files by glob, so new partitions appear without touching the
file again; their columns carry what they mean as comments (`lib/lake/columns.py`). An asset
only opens the file read-write when its view is missing or its comments are out of date (a
release that describes more), for milliseconds, and a lock held by someone else (another run,
an analyst's session) never fails a materialization.
"""

import time
from pathlib import Path

import dagster as dg
import duckdb

from mlplatform.lib.lake.columns import comment_view, describe_column
from mlplatform.lib.lake.identifiers import quoted


class Warehouse(dg.ConfigurableResource):
    path: str
    lake_root: str

    def connect(self, read_only: bool = True) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(self.path, read_only=read_only)

    def view_sql(self, layer: str, name: str) -> str:
        glob = f"{self.lake_root.rstrip('/')}/{layer}/{name}/*.parquet".replace("'", "''")
        return (
            f"CREATE OR REPLACE VIEW {quoted(layer)}.{quoted(name)} AS "
            f"SELECT * FROM read_parquet('{glob}', union_by_name = true, filename = true)"
        )

    def has_view(self, layer: str, name: str) -> bool:
        """The view exists and each of its columns carries the comment it should."""
        if not Path(self.path).exists():
            return False
        with self.connect(read_only=True) as con:
            columns = con.execute(
                "SELECT column_name, comment FROM duckdb_columns() "
                "WHERE schema_name = ? AND table_name = ?",
                [layer, name],
            ).fetchall()
        table = f"{layer}.{name}"
        return bool(columns) and all(
            comment == describe_column(table, column) for column, comment in columns
        )

    def ensure_view(self, layer: str, name: str, attempts: int = 3) -> str:
        """Create the view of `layer.name` if it is missing; returns what happened."""
        for attempt in range(attempts):
            try:
                if self.has_view(layer, name):
                    return "exists"
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                with self.connect(read_only=False) as con:
                    con.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted(layer)}")
                    con.execute(self.view_sql(layer, name))
                    comment_view(con, f"{layer}.{name}")
                return "created"
            except duckdb.IOException as exc:  # another process holds the file's lock
                if attempt == attempts - 1:
                    return f"skipped: warehouse busy ({exc})"
                time.sleep(0.2 * 2**attempt)
        return "skipped"
