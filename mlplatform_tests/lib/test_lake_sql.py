"""SQL over lake partitions whose schemas differ from day to day."""

from pathlib import Path

import polars as pl

from mlplatform.lib.lake.sql import query_lake


def test_partitions_with_different_columns_are_one_table(tmp_path: Path):
    # model_performance gains a baseline's column once a week of history exists, and a
    # release may add columns: the first day's file must not decide the table's schema
    first, later = tmp_path / "2026-01-01.parquet", tmp_path / "2026-01-08.parquet"
    pl.DataFrame({"mae": [1.0], "n": [3]}).write_parquet(first)
    pl.DataFrame({"mae": [2.0], "n": [4.5], "mae_weekly": [7.0]}).write_parquet(later)
    tables = {"monitoring.model_performance": [str(first), str(later)]}

    result = query_lake(
        "SELECT filename, mae, n, mae_weekly FROM monitoring.model_performance ORDER BY mae",
        tables,
    )
    assert result["filename"].to_list() == [str(first), str(later)]
    assert result["n"].to_list() == [3.0, 4.5]  # an integer day and a float day: floats
    assert result["mae_weekly"].to_list() == [None, 7.0]


def test_a_folder_name_is_an_identifier_never_sql(tmp_path: Path, monkeypatch):
    """Anyone who can write to the lake names its folders: a name made of SQL stays a name."""
    monkeypatch.chdir(tmp_path)
    day = tmp_path / "2026-01-01.parquet"
    pl.DataFrame({"v": [1]}).write_parquet(day)
    hostile = "evil\"; COPY (SELECT 42) TO 'pwned.csv' (FORMAT csv); --"
    result = query_lake(
        "SELECT view_name FROM duckdb_views() WHERE schema_name = 'serving'",
        {f"serving.{hostile}": [str(day)]},
    )
    assert result["view_name"].to_list() == [hostile]
    assert not (tmp_path / "pwned.csv").exists()
    quoted_name = hostile.replace('"', '""')
    assert query_lake(f'SELECT v FROM serving."{quoted_name}"', {f"serving.{hostile}": [str(day)]})[
        "v"
    ].to_list() == [1]


def test_a_statement_without_rows_gives_none():
    assert query_lake("SET threads = 1", {}) is None
