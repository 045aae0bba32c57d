"""`mlplatform`: the command line over the library, the same code the assets run."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from mlplatform.settings import data_dir


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text}")
    return value


def cmd_simulate(args: argparse.Namespace) -> int:
    from mlplatform.lib.sources.simulator import SimulationConfig, simulate, write_landing_day

    out = Path(args.out) if args.out else data_dir() / "landing"
    config = SimulationConfig(
        resources=args.resources, seed=args.seed, drift_start=args.drift_start
    )
    started = time.perf_counter()
    for i, day in enumerate(simulate(config, args.start, args.days), start=1):
        write_landing_day(day, out, config)
        print(
            f"[{i}/{args.days}] {day.day}: {day.metrics.height:,} metric rows, "
            f"{day.cost.height:,} cost lines, {len(day.anomalies)} anomalies"
            + (" (drifted)" if day.drifted else ""),
            file=sys.stderr,
        )
    print(f"wrote {args.days} day(s) under {out} in {time.perf_counter() - started:.1f}s")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    """Simulate the last N days up to yesterday, unless the landing zone already has data."""
    from datetime import UTC, datetime, timedelta

    landing = data_dir() / "landing"
    if any((landing / "metrics").glob("*/*")):
        print(f"landing zone {landing} already has data; not seeding")
        return 0
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    args.start = yesterday - timedelta(days=args.days - 1)
    args.out, args.drift_start = str(landing), None
    return cmd_simulate(args)


def cmd_features(args: argparse.Namespace) -> int:
    import polars as pl

    from mlplatform.lib.features import input_problems, resource_hourly_features

    source = Path(args.input)
    if not source.exists():
        print(f"error: input file not found: {source}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        frame = pl.read_parquet(source)
    except Exception as exc:  # polars raises several types for a damaged file
        print(f"error: cannot read {source} as Parquet: {exc}", file=sys.stderr)
        return 2
    problems = input_problems(frame.schema)
    if problems:
        print(
            f"error: {source} is not a clean hourly table: {'; '.join(problems)}", file=sys.stderr
        )
        return 2
    result = resource_hourly_features(frame)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    result.write_parquet(args.output)
    elapsed = time.perf_counter() - started
    print(f"{result.height:,} rows x {result.width} columns -> {args.output} in {elapsed:.2f}s")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlplatform", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sim = sub.add_parser("simulate", help="write simulated landing files and labels")
    sim.add_argument("--start", type=_date, required=True, help="first day, YYYY-MM-DD")
    sim.add_argument("--days", type=_positive, required=True)
    sim.add_argument("--resources", type=_positive, default=200)
    sim.add_argument("--seed", type=int, default=7)
    sim.add_argument(
        "--drift-start", type=_date, default=None, help="traffic mix shifts from this day"
    )
    sim.add_argument(
        "--out", default=None, help="landing root (default $MLPLATFORM_DATA_DIR/landing)"
    )
    sim.set_defaults(run=cmd_simulate)

    seed = sub.add_parser("seed", help="simulate recent days if the landing zone is empty")
    seed.add_argument("--days", type=_positive, default=14)
    seed.add_argument("--resources", type=_positive, default=200)
    seed.add_argument("--seed", type=int, default=7)
    seed.set_defaults(run=cmd_seed)

    feat = sub.add_parser(
        "features", help="compute features/resource_hourly from a clean hourly table"
    )
    feat.add_argument("--input", required=True, help="clean hourly metrics, Parquet")
    feat.add_argument("--output", required=True, help="feature table, Parquet")
    feat.set_defaults(run=cmd_features)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    raise SystemExit(main())
