"""What `mlplatform forecast`'s naive guard would do to served demand forecasts on simulated
deployments: the evidence for serving without it (the guard's window and margin were chosen
on NAB files, not on these; docs/evaluation.md).

    .venv/bin/python -m benchmarks.serving_guard

Each scenario of `benchmarks.drift_calibration` (with and without a drift) trains the demand
forecaster on its first two weeks as that benchmark does, then forecasts every later day as
`serving/demand_forecasts` does, once as it does (no guard) and once with the guard. Prints, per
scenario, each one's MAE over all later days and horizons relative to the best single naive
baseline's (last value, same hour yesterday, same hour last week; the lowest MAE over the same
rows), and the share of forecasts the guard gave to a naive one.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace

import polars as pl

from benchmarks.drift_calibration import SCENARIOS, TRAINING_DAYS, Scenario, deployment
from mlplatform.lib.models.forecasting import (
    DEMAND,
    forecast_tables,
    naive_forecast_tables,
)
from mlplatform.lib.models.naive_guard import NaiveGuard

KEYS = ["resource_id", "origin", "horizon"]
GUARDED = replace(DEMAND, guard=NaiveGuard())


def measure(scenario: Scenario) -> dict[str, float]:
    features, days, _, trained, _ = deployment(scenario)
    later = days[TRAINING_DAYS:]

    def served(tables, name: str) -> pl.DataFrame:
        return pl.concat([tables[d] for d in later]).select(
            *KEYS,
            "target_time",
            pl.col("forecast").alias(name),
            by_naive=pl.col("forecast_by") != "m",
        )

    guarded = forecast_tables(GUARDED, features, later, trained.booster, "m")
    unguarded = forecast_tables(DEMAND, features, later, trained.booster, "m")
    frame = served(guarded, "guarded").join(
        served(unguarded, "model").drop("by_naive"), on=[*KEYS, "target_time"]
    )
    for baseline in ("last_value", *DEMAND.baselines):
        naive = naive_forecast_tables(DEMAND, features, later, baseline)
        frame = frame.join(served(naive, baseline).drop("by_naive"), on=[*KEYS, "target_time"])
    actual = features.select(
        "resource_id", pl.col("ts").alias("target_time"), pl.col("request_count").alias("actual")
    )
    frame = frame.join(actual, on=["resource_id", "target_time"]).drop_nulls()
    errors = frame.select(
        (pl.col(c) - pl.col("actual")).abs().mean()
        for c in ("guarded", "model", "last_value", *DEMAND.baselines)
    ).row(0, named=True)
    best = min(v for k, v in errors.items() if k not in ("guarded", "model"))
    return {
        "guarded": errors["guarded"] / best,
        "model": errors["model"] / best,
        "by_naive": float(frame["by_naive"].mean()),
    }


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args(argv)
    print("| scenario | model alone | with the guard | forecasts given to naive | seconds |")
    print("|---|---|---|---|---|")
    for scenario in SCENARIOS:
        started = time.perf_counter()
        r = measure(scenario)
        print(
            f"| {scenario.name} | {r['model']:.3f} | {r['guarded']:.3f} | "
            f"{r['by_naive']:.1%} | {time.perf_counter() - started:.0f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
