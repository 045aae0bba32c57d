"""The warehouse: a DuckDB file of views over the lake, for SQL browsing.

Views read the lake's Parquet files by glob, so new partitions appear without touching the
file again. An asset only opens it read-write when its view is missing, for milliseconds, and
a lock held by someone else (another run, an analyst's session) never fails a materialization.
"""

import time
from pathlib import Path

import dagster as dg
import duckdb


class Warehouse(dg.ConfigurableResource):
    path: str
    lake_root: str

    def connect(self, read_only: bool = True) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(self.path, read_only=read_only)

    def view_sql(self, layer: str, name: str) -> str:
        glob = f"{self.lake_root.rstrip('/')}/{layer}/{name}/*.parquet"
        return (
            f'CREATE OR REPLACE VIEW "{layer}"."{name}" AS '
            f"SELECT * FROM read_parquet('{glob}', union_by_name = true, filename = true)"
        )

    def has_view(self, layer: str, name: str) -> bool:
        if not Path(self.path).exists():
            return False
        with self.connect(read_only=True) as con:
            found = con.execute(
                "SELECT count(*) FROM duckdb_views() WHERE schema_name = ? AND view_name = ?",
                [layer, name],
            ).fetchone()
        return bool(found and found[0])

    def ensure_view(self, layer: str, name: str, attempts: int = 3) -> str:
        """Create the view of `layer.name` if it is missing; returns what happened."""
        for attempt in range(attempts):
            try:
                if self.has_view(layer, name):
                    return "exists"
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                with self.connect(read_only=False) as con:
                    con.execute(f'CREATE SCHEMA IF NOT EXISTS "{layer}"')
                    con.execute(self.view_sql(layer, name))
                return "created"
            except duckdb.IOException as exc:  # another process holds the file's lock
                if attempt == attempts - 1:
                    return f"skipped: warehouse busy ({exc})"
                time.sleep(0.2 * 2**attempt)
        return "skipped"
