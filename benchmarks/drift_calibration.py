"""How the monitoring checks behave on simulated deployments with and without a drift: the
figures the checks' thresholds were set from (docs/evaluation.md, "Retraining on evidence").

    .venv/bin/python -m benchmarks.drift_calibration [--out data/benchmarks/drift_calibration.csv]

Each scenario simulates a deployment (seed, resources, drift start or none), trains the demand
forecaster on its first two weeks as the platform would (same features, training and search,
a smaller search budget), then measures every later day as `monitoring/feature_drift` and
`monitoring/model_performance` do: the drift share of the model inputs and predictions, the
live MAE relative to the training MAE, and the live skill (MAE relative to the best naive
baseline) relative to the training skill. Prints one line per day and, for the thresholds in
force, the false ERRORs per 30 days without drift and the days from drift onset to an ERROR.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import NamedTuple

import polars as pl

from benchmarks.simulated_hourly import simulated_hourly
from mlplatform.lib.features.engineering import resource_hourly_features
from mlplatform.lib.ingest.simulator import SimulationConfig
from mlplatform.lib.models.forecasting import (
    DEMAND,
    TrainedForecaster,
    build_dataset,
    day_dataset,
    forecast_tables,
    train,
)
from mlplatform.lib.models.training import SearchBudget
from mlplatform.lib.monitoring.drift import RANGES, feature_drift, with_predictions
from mlplatform.lib.monitoring.performance import forecast_performance
from mlplatform.resources.monitoring import MonitoringPolicy

START = date(2026, 1, 5)  # a Monday
FAMILIES = (*RANGES, "prediction", "segment", "other")
TRAINING_DAYS = 14


@dataclass(frozen=True)
class Scenario:
    seed: int
    resources: int
    drift_day: int | None  # days after START
    drift_kind: str = "mix"  # simulator.DRIFT_KINDS
    days: int = 42

    @property
    def name(self) -> str:
        if self.drift_day is None:
            return f"seed {self.seed}, {self.resources} resources, no drift"
        drift = f"{self.drift_kind} drift from day {self.drift_day}"
        return f"seed {self.seed}, {self.resources} resources, {drift}"


SCENARIOS = (
    Scenario(1, 40, None),
    Scenario(2, 120, None),
    Scenario(3, 40, 21),
    Scenario(4, 120, 28),
    Scenario(5, 40, 21, "level"),
    Scenario(6, 80, 24, "shape"),
    Scenario(7, 40, 21, "memory"),
)


class Deployment(NamedTuple):
    """A scenario's simulated features, its days, and the demand forecaster trained on the
    first `TRAINING_DAYS` of them (`table`) as the platform would."""

    features: pl.DataFrame
    days: list[date]
    table: pl.DataFrame
    trained: TrainedForecaster
    drift_start: date | None


def deployment(scenario: Scenario) -> Deployment:
    drift_start = START + timedelta(days=scenario.drift_day) if scenario.drift_day else None
    config = SimulationConfig(
        resources=scenario.resources,
        seed=scenario.seed,
        drift_start=drift_start,
        drift_kind=scenario.drift_kind,
    )
    features = resource_hourly_features(simulated_hourly(config, START, scenario.days))
    days = [START + timedelta(days=k) for k in range(scenario.days)]
    table = features.filter(pl.col("ts").dt.date().is_in(days[:TRAINING_DAYS]))
    trained = train(build_dataset(table, DEMAND), SearchBudget(trials=5, timeout_seconds=60))
    return Deployment(features, days, table, trained, drift_start)


def measure(scenario: Scenario) -> list[dict]:
    features, days, table, trained, drift_start = deployment(scenario)
    window = days[:TRAINING_DAYS]
    forecasts = forecast_tables(DEMAND, features, days, trained.booster, "calibration")
    reference = with_predictions(table, pl.concat([forecasts[d] for d in window]))
    rows = []
    for day in days[TRAINING_DAYS:]:
        current = with_predictions(features.filter(pl.col("ts").dt.date() == day), forecasts[day])
        drift = feature_drift(reference, current)
        live = forecast_performance(
            trained.booster, day_dataset(DEMAND, features, day), trained.metrics
        )
        skill = live["skill_ratio_to_training"]
        rows.append(
            {
                "scenario": scenario.name,
                "day": (day - START).days,
                "date": day.isoformat(),
                "drifted": drift_start is not None and day >= drift_start,
                "drift_share": round(drift.share, 4),
                "drifted_columns": len(drift.drifted),
                **{f"median_{name}": round(drift.families.get(name, 0.0), 4) for name in FAMILIES},
                "mae_ratio": round(live["mae_ratio_to_training"], 4),
                "skill_ratio": round(skill, 4),
            }
        )
        print(
            f"{scenario.name:42s} day {rows[-1]['day']:2d} drift {drift.share:5.2f} "
            f"({len(drift.drifted):2d} cols)  mae ratio {live['mae_ratio_to_training']:5.2f}  "
            f"skill ratio {skill:5.2f}  family medians {_medians(drift)}"
            f"{'  [drift]' if rows[-1]['drifted'] else ''}",
            flush=True,
        )
    return rows


def _medians(drift) -> str:
    return " ".join(f"{name[:3]} {v:4.2f}" for name, v in drift.families.items())


def verdicts(rows: list[dict], policy: MonitoringPolicy) -> None:
    """False ERRORs per 30 days without drift, and days from onset to the first ERROR."""
    checks = {"feature_drift": policy.drift(), "performance": policy.performance()}

    def error(row: dict, check: str) -> bool:
        figures = {**row, "signal_drift": max(row[f"median_{m}"] for m in RANGES)}
        return any(th.severity(figures[f]) == "ERROR" for f, th in checks[check].items())

    for scenario in dict.fromkeys(r["scenario"] for r in rows):
        of = [r for r in rows if r["scenario"] == scenario]
        clean = [r for r in of if not r["drifted"]]
        errors = {name: sum(error(r, name) for r in clean) for name in checks}
        line = f"{scenario}: false ERRORs per 30 days " + ", ".join(
            f"{name} {30 * n / max(len(clean), 1):.1f}" for name, n in errors.items()
        )
        drifted = [r for r in of if r["drifted"]]
        if drifted:
            onset = drifted[0]["day"]
            caught = [r["day"] for r in drifted if any(error(r, name) for name in checks)]
            line += (
                f"; drift caught {caught[0] - onset} days after onset"
                if caught
                else "; drift NOT caught"
            )
        print(line)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default="data/benchmarks/drift_calibration.csv")
    parser.add_argument("--from-csv", action="store_true", help="re-print the verdicts of --out")
    parser.add_argument(
        "--scenario", type=int, action="append", help="run only these (1-based), repeatable"
    )
    args = parser.parse_args()
    out = Path(args.out)
    if args.from_csv:
        rows = [
            {
                **r,
                "drifted": r["drifted"] == "True",
                **{
                    k: float(v)
                    for k, v in r.items()
                    if k.startswith("median_") or k in ("drift_share", "skill_ratio", "mae_ratio")
                },
                "day": int(r["day"]),
            }
            for r in csv.DictReader(out.open())
        ]
    else:
        started = time.perf_counter()
        chosen = [SCENARIOS[i - 1] for i in args.scenario] if args.scenario else SCENARIOS
        rows = [row for s in chosen for row in measure(s)]
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        print(
            f"{len(rows)} days measured in {time.perf_counter() - started:.0f} s -> {out}",
            file=sys.stderr,
        )
    verdicts(rows, MonitoringPolicy())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
