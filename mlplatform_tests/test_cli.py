import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from mlplatform.cli import main
from mlplatform.lib.models.detector import SIGNALS
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
    assert main(["sql", "SET threads = 1"]) == 0  # no rows to show, and no crash
    assert capsys.readouterr().out == ""


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


def _series_csv(path: Path, values: np.ndarray, step_minutes: int) -> list[str]:
    """Write a `timestamp,value` CSV as NAB lays it out; returns its timestamps as text."""
    start = np.datetime64("2026-01-01T00:00")
    stamps = [
        str(start + i * np.timedelta64(step_minutes, "m")).replace("T", " ") + ":00"
        for i in range(values.size)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"timestamp": stamps, "value": values}).write_csv(path)
    return stamps


def test_detect_scores_each_csv_and_reports_a_bad_one(tmp_path: Path, capsys):
    """NAB's layout in, the same layout out; a bad file is named with its line, and the
    others are still scored."""
    rng = np.random.default_rng(3)
    t = np.arange(1500)
    values = 100 + 30 * np.sin(2 * np.pi * t / 288) + rng.normal(0, 2, t.size)
    values[1200:1204] += 150
    stamps = _series_csv(tmp_path / "in" / "realX" / "good.csv", values, 5)
    (tmp_path / "in" / "realX" / "bad.csv").write_text(
        "timestamp,value\n2026-01-01 01:00:00,1\n2026-01-01 00:00:00,oops\n"
    )
    assert main(["detect", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out")]) == 1
    out = pl.read_csv(tmp_path / "out" / "realX" / "good.csv")
    assert out.columns == ["timestamp", "anomaly_score", "is_anomaly", "signal"]
    assert out["timestamp"].to_list() == stamps
    alerts = out.filter(pl.col("is_anomaly") == 1)
    assert 1 <= alerts.height <= 5
    assert (
        alerts.filter(
            pl.col("timestamp").is_between(pl.lit(stamps[1200]), pl.lit(stamps[1210]))
        ).height
        == 1
    )
    assert set(alerts["signal"]) <= set(SIGNALS)
    assert not (tmp_path / "out" / "realX" / "bad.csv").exists()
    captured = capsys.readouterr()
    assert f"good.csv: {alerts.height} alert(s) in 1,500 rows" in captured.err
    bad = captured.err.index("bad.csv\n")
    assert "error: line 3: value 'oops' is not a finite number" in captured.err[bad:]
    assert "1 of 2 file(s) written" in captured.out
    # one file by name: its output keeps the name
    alone = tmp_path / "in" / "realX" / "good.csv"
    assert main(["detect", "--input", str(alone), "--output", str(tmp_path / "one")]) == 0
    assert pl.read_csv(tmp_path / "one" / "good.csv").equals(out)
    # a series shorter than the warm-up still gets its output, without alerts, and says so
    _series_csv(tmp_path / "short.csv", values[:50], 5)
    capsys.readouterr()
    brief = ["detect", "--input", str(tmp_path / "short.csv"), "--output", str(tmp_path / "s")]
    assert main(brief) == 0
    short = pl.read_csv(tmp_path / "s" / "short.csv", infer_schema_length=None)
    assert short.height == 50 and short["is_anomaly"].sum() == 0
    assert "no alert can fire in 50 rows (none does in the first 120)" in capsys.readouterr().err
    # never over its own input
    before = (tmp_path / "short.csv").read_text()
    assert main(["detect", "--input", str(tmp_path / "short.csv"), "--output", str(tmp_path)]) == 1
    assert "would overwrite its input" in capsys.readouterr().err
    assert (tmp_path / "short.csv").read_text() == before


def test_detect_scores_rows_that_step_back_where_they_arrive(tmp_path: Path, capsys):
    """A real export repeats an hour of rows: one output row per input row, in file order,
    and a warning names the lines; nothing is refused for order."""
    rng = np.random.default_rng(5)
    values = 50 + rng.normal(0, 1, 400)
    stamps = _series_csv(tmp_path / "in.csv", values, 60)
    repeated = [*stamps[:300], *stamps[288:300], *stamps[300:]]  # hour 288-299 again
    again = np.concatenate([values[:300], values[288:300], values[300:]])
    pl.DataFrame({"timestamp": repeated, "value": again}).write_csv(tmp_path / "in.csv")
    args = ["detect", "--input", str(tmp_path / "in.csv"), "--output", str(tmp_path / "o")]
    assert main(args) == 0
    out = pl.read_csv(tmp_path / "o" / "in.csv")
    assert out["timestamp"].to_list() == repeated
    assert "timestamp steps back on line(s) 302; scored in the order" in capsys.readouterr().err


def test_detect_group_folder_scores_a_machines_metrics_together(tmp_path: Path, capsys):
    """One folder per machine, one CSV per metric: a surge on three metrics at once is one
    incident and alerts on each; a passing blip on one metric alone is no incident."""
    rng = np.random.default_rng(6)
    t = np.arange(1500)
    daily = 30 * np.sin(2 * np.pi * t / 288)
    machine = tmp_path / "in" / "machine-1"
    for k, name in enumerate(("cpu", "memory", "net", "disk")):
        values = 100 + daily * (k + 1) / 2 + rng.normal(0, 2, t.size)
        if name in ("cpu", "memory", "net"):
            values[1300:1330] += 400  # the machine's incident: lasts, on three metrics
        _series_csv(machine / f"{name}.csv", values, 5)
    args = ["detect", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out")]
    assert main([*args, "--group", "folder"]) == 0
    outputs = {
        n: pl.read_csv(tmp_path / "out" / "machine-1" / f"{n}.csv")
        for n in ("cpu", "memory", "net", "disk")
    }
    assert all(o.height == 1500 for o in outputs.values())
    for name in ("cpu", "memory", "net"):
        hits = np.flatnonzero(outputs[name]["is_anomaly"].to_numpy())
        assert any(1300 <= h < 1330 for h in hits), name
    err = capsys.readouterr().err
    assert "[1/1] machine-1: 4 metric file(s)" in err and "incident(s)" in err
    # the grouped decision keeps no alert the files alone did not raise
    assert main(args) == 0
    for name, grouped in outputs.items():
        alone = pl.read_csv(tmp_path / "out" / "machine-1" / f"{name}.csv")
        assert (grouped["is_anomaly"] <= alone["is_anomaly"]).all(), name
        assert grouped["anomaly_score"].equals(alone["anomaly_score"])


def test_forecast_writes_every_row_naive_until_the_first_model(tmp_path: Path, capsys):
    rng = np.random.default_rng(4)
    t = np.arange(1100)
    values = 100 + 30 * np.sin(2 * np.pi * t / 48) + rng.normal(0, 2, t.size)
    stamps = _series_csv(tmp_path / "in" / "demand.csv", values, 30)
    _series_csv(tmp_path / "in" / "short.csv", values[:500], 30)
    tiny = tmp_path / "tiny.csv"
    _series_csv(tiny, values[:100], 30)
    code = main(
        [
            "forecast",
            "--input",
            str(tmp_path / "in"),
            "--output",
            str(tmp_path / "out"),
            "--horizon",
            "2",
        ]
    )
    assert code == 0
    out = pl.read_csv(tmp_path / "out" / "demand.csv", infer_schema_length=None)
    assert out.columns == ["timestamp", "h1", "h2"]
    assert out["timestamp"].to_list() == stamps
    assert out.null_count().sum_horizontal().item() == 0
    # before the first model, the best naive forecast so far: here yesterday's value
    early = out[60:125]
    assert np.allclose(early["h2"].to_numpy(), values[60 + 2 - 48 : 125 + 2 - 48], atol=1e-4)
    later = out[125:]
    # forecasts of the next rows, not of a constant: they follow the daily wave
    assert np.corrcoef(later["h1"].to_numpy()[:-1], values[126:])[0, 1] > 0.9
    captured = capsys.readouterr()
    assert "model 4/4 trained on 1,000 rows" in captured.err
    said = re.search(
        r"demand.csv: the best naive forecast so far on lines 2-126, the model's from line "
        r"127 of 1,101 \(a naive forecast instead of ([\d.]+)% of them, where it had been "
        r"clearly better over the last day\)",
        captured.err,
    )
    assert said is not None and float(said[1]) < 5  # the model forecasts a steady wave well
    short = captured.err.index("short.csv\n")
    assert "short.csv: the best naive forecast so far on lines 2-126" in captured.err[short:]
    assert pl.read_csv(tmp_path / "out" / "short.csv").height == 500
    # a series too short for a model still gets its naive forecasts, and says so
    assert main(["forecast", "--input", str(tiny), "--output", str(tmp_path / "tiny")]) == 0
    assert pl.read_csv(tmp_path / "tiny" / "tiny.csv").null_count().sum_horizontal().item() == 0
    assert "no model (100 rows, the first is fitted on 125)" in capsys.readouterr().err


def test_demo_says_why_it_cannot_start_and_seeds_nothing(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("MLPLATFORM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text("load_from: []\n")
    args = ["demo", "--workspace", str(workspace)]
    assert main(args) == 2
    assert "DAGSTER_HOME is not set" in capsys.readouterr().err
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    assert main(args) == 2
    assert f"DAGSTER_HOME={tmp_path} holds no dagster.yaml" in capsys.readouterr().err
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    assert main(["demo", "--workspace", str(tmp_path / "none.yaml")]) == 2
    assert "none.yaml not found" in capsys.readouterr().err
    monkeypatch.setenv("MLPLATFORM_DEPLOYMENT", "scaleout")
    assert main(args) == 2
    assert "runs the embedded default" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()
    # a landing zone whose days are all older than the catch-up window: nothing to wait for
    monkeypatch.delenv("MLPLATFORM_DEPLOYMENT")
    old_day = tmp_path / "data" / "landing" / "metrics" / "2020-01-01"
    old_day.mkdir(parents=True)
    (old_day / "a.csv").write_text("timestamp,resource_id,metric_name,value\n")
    assert main(args) == 2
    assert "nothing to build" in capsys.readouterr().err
    assert not (tmp_path / "data" / "lake").exists()
