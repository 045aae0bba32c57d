"""Training speed: the demand forecaster on 28 days x 500 simulated resources with a search
budget of 20 trials, on this machine's cores.

    .venv/bin/python -m benchmarks.training_benchmark [--resources 500] [--days 28] [--trials 20]
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import date

from benchmarks.simulated_hourly import simulated_hourly
from mlplatform.lib.features.engineering import resource_hourly_features
from mlplatform.lib.ingest.simulator import SimulationConfig
from mlplatform.lib.models.forecasting import DEMAND, build_dataset, train
from mlplatform.lib.models.training import SearchBudget


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--resources", type=int, default=500)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--trials", type=int, default=20)
    args = parser.parse_args()
    features = resource_hourly_features(
        simulated_hourly(
            SimulationConfig(resources=args.resources, seed=3), date(2026, 1, 1), args.days
        )
    )
    started = time.perf_counter()
    dataset = build_dataset(features, DEMAND)
    trained = train(dataset, SearchBudget(trials=args.trials, timeout_seconds=150))
    seconds = time.perf_counter() - started
    m = trained.metrics
    size = f"{args.resources} resources x {args.days} days"
    print(f"{size}: {dataset.frame.height:,} rows (hours x 4 horizons), {os.cpu_count()} cores")
    print(f"training time: {seconds:.0f} s")
    print(f"  of which search: {trained.search_seconds:.0f} s, {trained.search_trials} trials")
    print(f"holdout MAE {m['mae']:.0f}, sMAPE {m['smape']:.1f} %")
    relative = m["mae_relative_to_best_baseline"]
    print(f"relative to the best baseline ({m['best_baseline']}): {relative:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
