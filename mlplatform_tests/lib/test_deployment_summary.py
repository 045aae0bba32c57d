from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from mlplatform.lib.models.registry import Registry
from mlplatform.lib.monitoring.deployment_summary import deployment_summary
from mlplatform.lib.serving.incidents import incidents

DAYS = ["2026-01-01", "2026-01-02"]
UI = "http://127.0.0.1:3000"


def _write(data: Path, table: str, day: str, frame: pl.DataFrame) -> None:
    folder = data / "lake" / table
    folder.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(folder / f"{day}.parquet")


def _alerts(n: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "resource_id": [f"r-{i}" for i in range(n)],
            "metric": ["cpu_utilization"] * n,
            "ts": [datetime(2026, 1, 2, i, tzinfo=UTC) for i in range(n)],
            "value": [90.0 + i for i in range(n)],
            "anomaly_score": [0.5 + i / 10 for i in range(n)],
            "signal": ["surprise"] * n,
        }
    )


def test_summary_names_tables_models_and_the_last_days_news(tmp_path: Path):
    _write(tmp_path, "raw/cloudwatch_metrics", DAYS[0], pl.DataFrame({"x": [1, 2, 3]}))
    _write(tmp_path, "raw/cloudwatch_metrics", DAYS[1], pl.DataFrame({"x": [1]}))
    alerts = _alerts(5)
    _write(tmp_path, "serving/anomaly_alerts", DAYS[1], alerts)
    groups = alerts.select("resource_id", service=pl.lit("EC2"), region=pl.lit("eu-west-1"))
    _write(tmp_path, "serving/anomaly_incidents", DAYS[1], incidents(alerts, groups))
    _write(
        tmp_path,
        "serving/cost_recommendations",
        DAYS[1],
        pl.DataFrame(
            {
                "resource_id": ["r-a", "r-b"],
                "recommendation": ["downsize one instance size"] * 2,
                "monthly_saving": [12.0, 30.0],
            }
        ),
    )
    _write(
        tmp_path,
        "monitoring/feature_drift",
        DAYS[1],
        pl.DataFrame({"column": ["cpu", "memory", "hour"], "drifted": [True, False, True]}),
    )
    report = tmp_path / "reports" / "feature_drift" / f"{DAYS[1]}.html"
    report.parent.mkdir(parents=True)
    report.write_text("<html>")
    registry = Registry(f"sqlite:///{tmp_path / 'mlflow.db'}", str(tmp_path / "models"))
    registry.register("demand_forecaster", "m", {}, {"mae": 1.5})

    lines = deployment_summary(tmp_path, DAYS, UI)
    text = "\n".join(lines)
    raw = next(line for line in lines if "raw/cloudwatch_metrics" in line)
    assert raw.split()[1:] == ["2", "4"]  # days, rows
    assert next(line for line in lines if "serving/demand_forecasts" in line).split()[1:] == [
        "0",
        "0",
    ]
    assert "demand_forecaster v1 [challenger] mae=1.5" in text
    assert "no demand_forecaster champion yet" in text  # what serves meanwhile is said
    assert "cost_forecaster" not in text  # never trained: nothing to say of it
    # the five alerts of one service within hours make one incident, as delivery says it
    assert "5 anomaly alert(s)" in text
    assert "1 anomaly incident(s), the most severe:" in text
    [incident] = [line for line in lines if line.startswith("    - error: service EC2")]
    assert "first r-0/cpu_utilization" in incident
    listed = [line for line in lines if line.startswith("    - r-")]
    assert "2 rightsizing recommendation(s), 42 a month to save in all" in text
    assert listed == [
        "    - r-b: downsize one instance size, 30 a month",
        "    - r-a: downsize one instance size, 12 a month",
    ]
    assert "drift: 2 of 3 columns drifted: cpu, hour" in text
    assert str(report) in text
    assert UI in text


def test_summary_of_a_deployment_with_nothing_built_says_so(tmp_path: Path):
    lines = deployment_summary(tmp_path, DAYS, UI)
    assert "  none registered yet" in lines
    assert "  nothing built for it yet" in lines
    assert all(line.split()[1:] == ["0", "0"] for line in lines[2:16])
