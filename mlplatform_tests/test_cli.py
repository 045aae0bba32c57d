from pathlib import Path

import polars as pl
import pytest

from mlplatform.cli import main
from mlplatform_tests.factories import hourly_table


def test_simulate_writes_landing_files(tmp_path: Path, capsys):
    out = tmp_path / "landing"
    code = main(
        ["simulate", "--start", "2026-01-01", "--days", "2", "--resources", "5", "--out", str(out)]
    )
    assert code == 0
    assert sorted(p.name for p in (out / "metrics").iterdir()) == ["2026-01-01", "2026-01-02"]
    assert (out / "cost" / "2026-01-02" / "simulated.csv").exists()
    assert (out / "labels" / "2026-01-01.json").exists()
    captured = capsys.readouterr()
    assert "[2/2] 2026-01-02" in captured.err and "wrote 2 day(s)" in captured.out


def test_simulate_refuses_bad_dates(capsys):
    with pytest.raises(SystemExit):
        main(["simulate", "--start", "01/02/2026", "--days", "2"])
    assert "not a date (YYYY-MM-DD)" in capsys.readouterr().err


def test_seed_only_when_empty(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("MLPLATFORM_DATA_DIR", str(tmp_path))
    assert main(["seed", "--days", "2", "--resources", "3"]) == 0
    assert len(list((tmp_path / "landing" / "metrics").iterdir())) == 2
    assert main(["seed", "--days", "5"]) == 0
    assert "already has data" in capsys.readouterr().out
    assert len(list((tmp_path / "landing" / "metrics").iterdir())) == 2


def test_features_command_runs_the_library(tmp_path: Path):
    source, target = tmp_path / "in.parquet", tmp_path / "out.parquet"
    table = hourly_table(resources=2, days=3)
    table.write_parquet(source)
    assert main(["features", "--input", str(source), "--output", str(target)]) == 0
    result = pl.read_parquet(target)
    assert result.height == table.height
    assert {"cpu_utilization_p95_24h", "request_count_lag_168h", "resource_efficiency"} <= set(
        result.columns
    )


def test_features_command_reports_bad_input(tmp_path: Path, capsys):
    assert (
        main(
            [
                "features",
                "--input",
                str(tmp_path / "none.parquet"),
                "--output",
                str(tmp_path / "o.parquet"),
            ]
        )
        == 2
    )
    assert "input file not found" in capsys.readouterr().err
    pl.DataFrame({"x": [1]}).write_parquet(tmp_path / "x.parquet")
    assert (
        main(
            [
                "features",
                "--input",
                str(tmp_path / "x.parquet"),
                "--output",
                str(tmp_path / "o.parquet"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "is not a clean hourly table: missing column 'resource_id'; missing column 'ts'" in err
    table = hourly_table(resources=1, days=1).with_columns(pl.col("ts").dt.replace_time_zone(None))
    table.write_parquet(tmp_path / "naive.parquet")
    assert (
        main(
            [
                "features",
                "--input",
                str(tmp_path / "naive.parquet"),
                "--output",
                str(tmp_path / "o.parquet"),
            ]
        )
        == 2
    )
    assert "column 'ts' must be UTC, got time zone None" in capsys.readouterr().err


def test_sql_queries_every_lake_table(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("MLPLATFORM_DATA_DIR", str(tmp_path))
    folder = tmp_path / "lake" / "clean" / "metrics_hourly"
    folder.mkdir(parents=True)
    for day, rows in (("2026-01-01", 3), ("2026-01-02", 2)):
        pl.DataFrame({"resource_id": ["i-1"] * rows, "v": range(rows)}).write_parquet(
            folder / f"{day}.parquet"
        )
    query = "SELECT count(*) AS n, sum(v) AS total FROM clean.metrics_hourly"
    assert main(["sql", query, "--csv"]) == 0
    assert capsys.readouterr().out.splitlines() == ["n,total", "5,4"]
    assert main(["sql", "SELECT * FROM clean.nothing"]) == 2
    assert "tables: clean.metrics_hourly" in capsys.readouterr().err


def test_seed_and_simulate_follow_an_explicit_partitions_start(tmp_path: Path, monkeypatch, capsys):
    from datetime import UTC, datetime, timedelta

    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    monkeypatch.setenv("MLPLATFORM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MLPLATFORM_PARTITIONS_START", (yesterday - timedelta(days=2)).isoformat())
    assert main(["seed", "--days", "14", "--resources", "3"]) == 0
    assert len(list((tmp_path / "landing" / "metrics").iterdir())) == 3  # not 14
    out = tmp_path / "other"
    assert main(["simulate", "--start", "2026-01-01", "--days", "1", "--out", str(out)]) == 0
    assert "will not be ingested" in capsys.readouterr().err
