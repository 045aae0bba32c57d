"""The compute floor of a catch-up: the library functions the assets call, in a plain loop over
the days, reading and writing the same Parquet files, with no Dagster at all.

    .venv/bin/python -m benchmarks.pipeline_floor DATA_DIR FIRST_DAY DAYS

`DATA_DIR` holds `landing/` as `mlplatform simulate` writes it; the lake, registry and reports
are written below it as the platform writes them.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from mlplatform.lib.cleaning.cost import clean_cost
from mlplatform.lib.cleaning.metrics import clean_metrics
from mlplatform.lib.cleaning.schemas import (
    cost_daily_schema,
    metrics_hourly_schema,
    other_metrics_hourly_schema,
    quarantine_schema,
)
from mlplatform.lib.cleaning.validation import conservation, schema_failures
from mlplatform.lib.features.engineering import (
    COST_LOOKBACK_DAYS,
    LOOKBACK_DAYS,
    cost_features_for_day,
    features_for_day,
)
from mlplatform.lib.ingest.catalog import (
    COST_OPTIONAL,
    COST_REQUIRED,
    METRICS_OPTIONAL,
    METRICS_REQUIRED,
)
from mlplatform.lib.ingest.raw import ingest
from mlplatform.lib.ingest.simulator import read_labels
from mlplatform.lib.models.detector import DetectorSettings
from mlplatform.lib.models.detector_tables import alerts_by_day, history_days, observations
from mlplatform.lib.models.forecasting import COST, DEMAND, day_dataset
from mlplatform.lib.models.promotion import train_and_challenge, train_and_challenge_anomaly
from mlplatform.lib.models.registry import CHAMPION, Registry
from mlplatform.lib.models.training import SearchBudget
from mlplatform.lib.monitoring.drift import (
    InsufficientHistory,
    feature_drift,
    reference_days,
    with_predictions,
)
from mlplatform.lib.monitoring.performance import alert_quality, forecast_performance
from mlplatform.lib.serving.forecasts import served_forecasts
from mlplatform.lib.serving.recommendations import rightsizing

# TrainingConfig's defaults, as the platform trains with them
TRAINING_DAYS, TRIALS, SEARCH_SECONDS, MARGIN, SEED = 28, 20, 120.0, 0.02, 7


class Lake:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, table: str, day: str) -> Path:
        return self.root / table / f"{day}.parquet"

    def write(self, table: str, day: str, frame: pl.DataFrame) -> None:
        self.path(table, day).parent.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(self.path(table, day))

    def read(self, table: str, days: list[str]) -> pl.DataFrame:
        frames = [
            pl.read_parquet(self.path(table, d)) for d in days if self.path(table, d).exists()
        ]
        return pl.concat(frames, how="diagonal_relaxed")


def _ingest(landing: Path, source: str, day: str, required, optional) -> pl.DataFrame:
    folder = landing / source / day
    files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
    arrivals = [
        (p.relative_to(landing).as_posix(), datetime.fromtimestamp(p.stat().st_mtime, UTC))
        for p in files
    ]
    return ingest(arrivals, lambda name: (landing / name).read_bytes(), required, optional).raw


def _before(day: date, n: int) -> list[str]:
    return [(day - timedelta(days=k)).isoformat() for k in range(n, -1, -1)]


def ingest_and_clean(landing: Path, lake: Lake, days: list[date]) -> None:
    for day in days:
        key = day.isoformat()
        raw_m = _ingest(landing, "metrics", key, METRICS_REQUIRED, METRICS_OPTIONAL)
        raw_c = _ingest(landing, "cost", key, COST_REQUIRED, COST_OPTIONAL)
        lake.write("raw/cloudwatch_metrics", key, raw_m)
        lake.write("raw/cost_usage", key, raw_c)
        metrics, cost = clean_metrics(raw_m, day), clean_cost(raw_c, day)
        quarantine = pl.concat([metrics.quarantine, cost.quarantine])
        for frame, schema in (
            (metrics.clean, metrics_hourly_schema()),
            (metrics.other, other_metrics_hourly_schema()),
            (cost.clean, cost_daily_schema()),
            (quarantine, quarantine_schema()),
        ):
            assert schema_failures(frame, schema).is_empty()
        assert conservation(raw_m, metrics, "metrics").holds
        assert conservation(raw_c, cost, "cost").holds
        lake.write("clean/metrics_hourly", key, metrics.clean)
        lake.write("clean/other_metrics_hourly", key, metrics.other)
        lake.write("clean/cost_daily", key, cost.clean)
        lake.write("clean/quarantine", key, quarantine)


def _observations(lake: Lake, days: list[str]) -> pl.DataFrame:
    return observations(
        lake.read("clean/metrics_hourly", days), lake.read("clean/other_metrics_hourly", days)
    )


def build_features(lake: Lake, days: list[date]) -> None:
    for day in days:
        key = day.isoformat()
        hourly = lake.read("clean/metrics_hourly", _before(day, LOOKBACK_DAYS))
        lake.write("features/resource_hourly", key, features_for_day(hourly, day))
        cost = lake.read("clean/cost_daily", _before(day, COST_LOOKBACK_DAYS))
        lake.write("features/cost_daily", key, cost_features_for_day(cost, day))


def train_models(lake: Lake, registry: Registry, days: list[date]) -> None:
    window = [d.isoformat() for d in days[-TRAINING_DAYS:]]
    budget = SearchBudget(trials=TRIALS, timeout_seconds=SEARCH_SECONDS, seed=SEED)
    meta = {"training_window": f"{window[0]}..{window[-1]}", "training_days": len(window)}
    resource = lake.read("features/resource_hourly", window)
    train_and_challenge(registry, DEMAND, resource, budget, MARGIN, meta)
    cost = lake.read("features/cost_daily", window)
    train_and_challenge(registry, COST, cost, budget, MARGIN, meta)
    train_and_challenge_anomaly(
        registry,
        history=_observations(lake, window[:-1]),
        recent=_observations(lake, window[-1:]),
        margin=MARGIN,
        metadata={"training_window": f"{window[0]}..{window[-2]}"},
    )


def serve_and_monitor(
    lake: Lake, registry: Registry, landing: Path, reports: Path, days: list[date]
) -> None:
    detector = registry.by_alias("anomaly_detector", CHAMPION)
    assert detector is not None
    anomaly_meta = registry.metadata("anomaly_detector", detector.version)
    demand_champion = registry.by_alias(DEMAND.name, CHAMPION)  # None: naive serves, unscored
    demand_booster = (
        registry.load(DEMAND.name, demand_champion.version) if demand_champion else None
    )
    demand_meta = registry.metadata(DEMAND.name, demand_champion.version) if demand_champion else {}
    available = [d.isoformat() for d in days]
    settings = DetectorSettings(**anomaly_meta["settings"])
    since = days[0] - timedelta(days=history_days(settings))
    span = [k for k in available if k >= since.isoformat()]
    alerts_of_day, _ = alerts_by_day(
        _observations(lake, span),
        days,
        registry.load("anomaly_detector", detector.version),
        settings,
    )
    anomaly_version = pl.lit(f"anomaly_detector/{detector.version}")
    resource_history = lake.read("features/resource_hourly", available)
    demand_of_day = served_forecasts(registry, DEMAND, resource_history, days).tables
    cost_history = lake.read("features/cost_daily", available)
    cost_of_day = served_forecasts(registry, COST, cost_history, days).tables
    references: dict[tuple[str, ...], pl.DataFrame] = {}
    for day in days:
        key = day.isoformat()
        resource = lake.read("features/resource_hourly", [key])
        demand, cost = demand_of_day[day], cost_of_day[day]
        alerts = alerts_of_day[day].with_columns(model_version=anomaly_version)
        lake.write("serving/demand_forecasts", key, demand)
        lake.write("serving/cost_forecasts", key, cost)
        lake.write("serving/anomaly_alerts", key, alerts)
        clean_cost_day = lake.read("clean/cost_daily", [key])
        lake.write(
            "serving/cost_recommendations", key, rightsizing(resource, demand, clean_cost_day)
        )
        performance = {}
        if demand_champion is not None:
            performance = forecast_performance(
                demand_booster,
                day_dataset(DEMAND, resource_history, day),
                dict(demand_champion.metrics),
            )
        labels = landing / "labels" / f"{key}.json"
        if labels.exists():
            performance |= alert_quality(alerts, read_labels(labels))
        row = {k: v for k, v in performance.items() if isinstance(v, int | float)}
        version = demand_champion.version if demand_champion else None
        lake.write(
            "monitoring/model_performance", key, pl.DataFrame([{**row, "model_version": version}])
        )
        ref_days = tuple(reference_days(available, demand_meta.get("training_window"), key))
        try:
            if not ref_days:
                raise InsufficientHistory("no earlier day")
            if ref_days not in references:
                served = [d for d in days if d.isoformat() in ref_days]
                references[ref_days] = with_predictions(
                    lake.read("features/resource_hourly", list(ref_days)),
                    pl.concat([demand_of_day[d] for d in served]) if served else None,
                    pl.concat([alerts_of_day[d] for d in served]) if served else None,
                )
            summary = feature_drift(
                references[ref_days],
                with_predictions(resource, demand, alerts),
                reports / "feature_drift" / f"{key}.html",
            )
            drift = summary.as_frame()
        except InsufficientHistory:
            drift = pl.DataFrame(schema={"column": pl.String, "score": pl.Float64})
        lake.write("monitoring/feature_drift", key, drift)


def run(data: Path, first: date, count: int) -> dict[str, float]:
    """Every layer for `count` days from `first`; seconds per stage."""
    days = [first + timedelta(days=i) for i in range(count)]
    lake = Lake(data / "lake")
    registry = Registry(f"sqlite:///{data / 'mlflow.db'}", str(data / "models"))
    seconds, started = {}, time.perf_counter()
    stages = [
        ("ingest + clean", lambda: ingest_and_clean(data / "landing", lake, days)),
        ("features", lambda: build_features(lake, days)),
        ("train 3 models", lambda: train_models(lake, registry, days)),
        (
            "serve + monitor",
            lambda: serve_and_monitor(lake, registry, data / "landing", data / "reports", days),
        ),
    ]
    for name, stage in stages:
        begun = time.perf_counter()
        stage()
        seconds[name] = time.perf_counter() - begun
    seconds["total"] = time.perf_counter() - started
    return seconds


if __name__ == "__main__":
    data_dir, first_day, n = Path(sys.argv[1]), date.fromisoformat(sys.argv[2]), int(sys.argv[3])
    for stage, s in run(data_dir, first_day, n).items():
        print(f"{stage}: {s:.1f} s")
