"""How many alerts the platform's detector raises on a fleet with nothing wrong: every alert
here is a false one, and its volume is what an operations team would receive.

    .venv/bin/python -m benchmarks.alert_volume [--resources 100] [--days 21] [--start 2026-01-05]

A simulated fleet without anomalies (`anomaly_rate` 0) lands `--days` days from `--start`;
the detector is trained on all of them, as `models/anomaly_detector` is on its window, and
every day is scored as `serving/anomaly_alerts` scores it, on all four metrics. Prints each
day's alerts, how many series (resource x metric) they came from, the signals that fired and
the hour with the most, then the rate per 100 series and day from the second week on.

Then the same fleet with anomalies (`--anomaly-rate`, labelled by the simulator) shows what
alert delivery's `min_score` trades: from the second week on, the alerts at or above each
score, the share of labelled anomalies with one inside, and the share inside a labelled one.
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import replace
from datetime import date, timedelta

import polars as pl

from benchmarks.simulated_hourly import simulated_hourly
from mlplatform.lib.ingest.simulator import SimulationConfig, simulate
from mlplatform.lib.models.detector import DetectorSettings
from mlplatform.lib.models.detector_tables import alerts_by_day, fit_table, observations
from mlplatform.lib.monitoring.performance import label_recall

MIN_SCORES = (0.5, 0.55, 0.6, 0.75, 0.99)


def scored_fleet(
    config: SimulationConfig, start: date, days: int
) -> tuple[list[date], dict[date, pl.DataFrame], dict[date, int], int]:
    """The days, each day's alerts and scored values, and the number of series."""
    observed = observations(simulated_hourly(config, start, days))
    settings = DetectorSettings()
    booster = fit_table(observed, settings)
    wanted = [start + timedelta(days=k) for k in range(days)]
    alerts, scored = alerts_by_day(observed, wanted, booster, settings)
    return wanted, alerts, scored, observed.select("resource_id", "metric").unique().height


def labels_of(config: SimulationConfig, start: date, days: int) -> pl.DataFrame:
    anomalies = [
        {"resource_id": a.resource_id, "start": a.start, "end": a.end}
        for day in simulate(replace(config, interval_minutes=60), start, days)
        for a in day.anomalies
    ]
    schema = {
        "resource_id": pl.String,
        "start": pl.Datetime("us", "UTC"),
        "end": pl.Datetime("us", "UTC"),
    }
    return pl.DataFrame(anomalies, schema=schema).unique()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--resources", type=int, default=100)
    parser.add_argument("--days", type=int, default=21)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 1, 5))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--anomaly-rate", type=float, default=0.03)
    args = parser.parse_args()
    quiet = SimulationConfig(resources=args.resources, seed=args.seed, anomaly_rate=0.0)
    days, alerts, scored, series = scored_fleet(quiet, args.start, args.days)
    print(
        f"{args.resources} resources, {series} series, no anomalies; {scored[days[0]]:,} "
        "values scored a day"
    )
    print("day         weekday  alerts  series  busiest hour  signals")
    for day in days:
        table = alerts[day]
        busiest = (
            table.group_by(pl.col("ts").dt.hour())
            .len()
            .sort(["len", "ts"], descending=[True, False])
        )
        hour = f"{busiest['ts'][0]:02d}:00 ({busiest['len'][0]})" if table.height else ""
        signals = ", ".join(f"{s} {n}" for s, n in Counter(table["signal"]).most_common())
        print(
            f"{day}  {day:%a}      {table.height:6d}  "
            f"{table.select('resource_id', 'metric').unique().height:6d}  {hour:12}  {signals}"
        )
    later = days[7:]
    total = sum(alerts[d].height for d in later)
    if later:
        rate = 100 * total / (series * len(later))
        print(
            f"from the second week on: {total} alerts in {len(later)} days, {rate:.2f} per 100 "
            "series and day"
        )
    print_min_scores(replace(quiet, anomaly_rate=args.anomaly_rate), args.start, args.days)
    return 0


def print_min_scores(config: SimulationConfig, start: date, days: int) -> None:
    wanted, alerts, _, _ = scored_fleet(config, start, days)
    later = wanted[7:]
    if not later:
        return
    table = pl.concat([alerts[d] for d in later])
    labels = labels_of(config, start, days).filter(pl.col("start").dt.date() >= later[0])
    print(
        f"\nwith anomalies (rate {config.anomaly_rate}): {labels.height} labelled from "
        f"{later[0]} on"
    )
    print("min_score  alerts  labelled anomalies found  alerts inside one")
    for floor in MIN_SCORES:
        kept = table.filter(pl.col("anomaly_score") >= floor)
        found = label_recall(kept, labels)
        print(
            f"{floor:9.2f}  {kept.height:6d}  {found['recall']:24.2f}  {found['precision']:17.2f}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
