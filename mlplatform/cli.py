"""`mlplatform`: the command line over the library, the same code the assets run."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from mlplatform.settings import data_dir, explicit_partitions_start

if TYPE_CHECKING:  # the registry imports MLflow, which only `models` needs
    from mlplatform.lib.models.registry import ModelVersion, Registry


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
    from mlplatform.lib.ingest.simulator import SimulationConfig, simulate, write_landing_day

    out = Path(args.out) if args.out else data_dir() / "landing"
    first_partition = explicit_partitions_start()
    if first_partition is not None and args.start < first_partition:
        print(
            f"warning: days before MLPLATFORM_PARTITIONS_START={first_partition} are no "
            "partition of the deployment and will not be ingested",
            file=sys.stderr,
        )
    config = SimulationConfig(
        resources=args.resources,
        seed=args.seed,
        anomaly_rate=args.anomaly_rate,
        more_anomaly_kinds=args.every_anomaly_kind,
        drift_start=args.drift_start,
        drift_kind=getattr(args, "drift_kind", "mix"),
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
    first_partition = explicit_partitions_start()
    if first_partition is not None and first_partition > args.start:
        args.start = first_partition  # seed only days the deployment has partitions for
        args.days = (yesterday - first_partition).days + 1
        if args.days < 1:
            print(f"MLPLATFORM_PARTITIONS_START={first_partition} is after yesterday; not seeding")
            return 0
    args.out, args.drift_start = str(landing), None
    return cmd_simulate(args)


def cmd_demo(args: argparse.Namespace) -> int:
    """Seed if the landing zone is empty, let the real daemon build every layer, summarise."""
    from datetime import UTC, datetime

    from mlplatform import demo
    from mlplatform.lib.monitoring.deployment_summary import deployment_summary

    workspace = Path(args.workspace)
    problem = demo.preflight(workspace)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    seeded = cmd_seed(args)
    if seeded:
        return seeded
    days = demo.days_to_watch(datetime.now(UTC).date())
    if not days:
        print(
            f"error: nothing to build: {data_dir() / 'landing'} holds no closed day of the "
            "catch-up window (MLPLATFORM_CATCHUP_DAYS) from the first partition on",
            file=sys.stderr,
        )
        return 2
    print(f"building every layer for {days[0]} .. {days[-1]} ({len(days)} days), nobody clicking")
    started = time.monotonic()
    try:
        status = demo.watch(days, workspace, args.timeout)
    except KeyboardInterrupt:
        print("\ninterrupted: what was built stays, and `mlplatform demo` carries on from it")
        return 130
    minutes, seconds = divmod(time.monotonic() - started, 60)
    print(("done" if status == 0 else "stopped") + f" after {minutes:.0f} min {seconds:.0f} s\n")
    print("\n".join(deployment_summary(data_dir(), days, args.ui_url)))
    return status


def cmd_features(args: argparse.Namespace) -> int:
    import polars as pl

    from mlplatform.lib.features.engineering import input_problems, resource_hourly_features

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
    # zstd at level 1, Arrow's default: a third quicker to write than polars' level 3, for
    # files about 12 % larger
    result.write_parquet(args.output, compression="zstd", compression_level=1)
    elapsed = time.perf_counter() - started
    print(f"{result.height:,} rows x {result.width} columns -> {args.output} in {elapsed:.2f}s")
    return 0


def _not_overwriting(path: Path, target: Path) -> Path:
    """`target`, unless writing it would overwrite its input `path`."""
    if target.resolve() == path.resolve():
        raise ValueError(f"the output {target} would overwrite its input")
    return target


def _no_input(source: Path) -> int:
    print(f"error: {source} is neither a CSV file nor a folder holding one", file=sys.stderr)
    return 2


def _series_files(source: Path) -> list[tuple[Path, Path]]:
    """(CSV, its path under --output): one file as its name, a folder's files as laid out."""
    if source.is_file():
        return [(source, Path(source.name))]
    if not source.is_dir():
        return []
    found = sorted(p for p in source.rglob("*.csv") if not p.name.startswith("."))
    return [(p, p.relative_to(source)) for p in found]


_INDENT = "      "


def _each_series(args: argparse.Namespace, write) -> int:
    """Run `write(timestamps, values, target)` per CSV under --input (or the one it names);
    it returns what to say about the file. One bad file is reported and the others still
    run; exit status 1 if any file failed."""
    from mlplatform.lib.ingest.series_csv import read_series

    source, target_root = Path(args.input), Path(args.output)
    files = _series_files(source)
    if not files:
        return _no_input(source)
    failed = 0
    for i, (path, relative) in enumerate(files, start=1):
        target = target_root / relative
        started = time.perf_counter()
        print(f"[{i}/{len(files)}] {path}", file=sys.stderr)
        try:
            _not_overwriting(path, target)
            timestamps, values = read_series(path)
            _warn_steps_back(timestamps)
            target.parent.mkdir(parents=True, exist_ok=True)
            said = write(timestamps, values, target)
        except Exception as exc:  # report, go on with the other files
            failed += 1
            print(f"{_INDENT}error: {exc}", file=sys.stderr)
            continue
        seconds = time.perf_counter() - started
        print(f"{_INDENT}-> {target}: {said} ({seconds:.1f}s)", file=sys.stderr)
    print(f"{len(files) - failed} of {len(files)} file(s) written under {target_root}")
    return 1 if failed else 0


def _warn_steps_back(timestamps) -> None:
    from mlplatform.lib.ingest.series_csv import describe_lines, steps_back

    back = steps_back(timestamps)
    if back:
        print(
            f"{_INDENT}warning: the timestamp steps back on line(s) {describe_lines(back)}; "
            "scored in the order the rows arrive",
            file=sys.stderr,
        )


def _write_detections(timestamps, scored, is_anomaly, target: Path) -> None:
    import numpy as np
    import polars as pl

    from mlplatform.lib.ingest.series_csv import timestamp_text

    pl.DataFrame(
        {
            "timestamp": timestamp_text(timestamps),
            "anomaly_score": scored.score.round(6),
            "is_anomaly": is_anomaly.astype(int),
            "signal": np.where(is_anomaly, scored.signal, ""),  # for alerts only
        }
    ).write_csv(target)


def cmd_detect(args: argparse.Namespace) -> int:
    from mlplatform.lib.models.detector import DetectorSettings, score_causally

    if args.group == "folder":
        return _detect_folders(args)
    warmup = DetectorSettings().warmup

    def write(timestamps, values, target: Path) -> str:
        scored = score_causally(values, timestamps)
        _write_detections(timestamps, scored, scored.is_anomaly, target)
        if values.size <= warmup:  # written all the same: every input gets its output
            return f"no alert can fire in {values.size:,} rows (none does in the first {warmup})"
        return f"{int(scored.is_anomaly.sum())} alert(s) in {values.size:,} rows"

    return _each_series(args, write)


def _detect_folders(args: argparse.Namespace) -> int:
    """`detect --group folder`: the CSVs of one folder are one resource's metrics, scored
    together (`lib/models/group_detection.py`); one bad file is reported and its folder's
    other files still run."""
    from mlplatform.lib.ingest.series_csv import read_series
    from mlplatform.lib.models.group_detection import score_group

    source, target_root = Path(args.input), Path(args.output)
    files = _series_files(source)
    if not files:
        return _no_input(source)
    folders: dict[Path, list[tuple[Path, Path]]] = {}
    for path, relative in files:
        folders.setdefault(relative.parent, []).append((path, relative))
    failed = written = 0
    for i, (folder, members) in enumerate(folders.items(), start=1):
        started = time.perf_counter()
        name = folder.name or source.resolve().name or "resource"
        print(f"[{i}/{len(folders)}] {name}: {len(members)} metric file(s)", file=sys.stderr)
        series, targets = {}, {}
        for path, relative in members:
            try:
                target = _not_overwriting(path, target_root / relative)
                series[relative.stem] = read_series(path)
            except Exception as exc:  # report, go on with the folder's other files
                failed += 1
                print(f"{_INDENT}error: {path}: {exc}", file=sys.stderr)
                continue
            _warn_steps_back(series[relative.stem][0])
            targets[relative.stem] = target
        if not series:
            continue
        grouped = score_group(series, name)
        for stem, target in targets.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            timestamps = series[stem][0]
            _write_detections(timestamps, grouped.scored[stem], grouped.is_anomaly[stem], target)
            written += 1
        alerts = sum(int(flags.sum()) for flags in grouped.is_anomaly.values())
        seconds = time.perf_counter() - started
        print(
            f"{_INDENT}-> {target_root / folder}: {grouped.incidents.height} incident(s), "
            f"{alerts} alert row(s) in them ({seconds:.1f}s)",
            file=sys.stderr,
        )
    print(f"{written} of {len(files)} file(s) written under {target_root}")
    return 1 if failed else 0


def cmd_forecast(args: argparse.Namespace) -> int:
    import polars as pl

    from mlplatform.lib.ingest.series_csv import timestamp_text
    from mlplatform.lib.models.series_forecast import (
        SeriesForecastSettings,
        rolling_origin_forecast,
    )

    first_fit = SeriesForecastSettings().first_fit

    def write(timestamps, values, target: Path) -> str:
        started = time.perf_counter()

        def fitted(k: int, fits: int, rows: int) -> None:
            print(
                f"{_INDENT}model {k}/{fits} trained on {rows:,} rows "
                f"({time.perf_counter() - started:.0f}s)",
                file=sys.stderr,
            )

        result = rolling_origin_forecast(values, timestamps, args.horizon, on_fit=fitted)
        columns = {
            f"h{k}": pl.Series(result.forecasts[:, k - 1].round(4), nan_to_null=True)
            for k in range(1, args.horizon + 1)
        }
        pl.DataFrame({"timestamp": timestamp_text(timestamps), **columns}).write_csv(target)
        first = result.first_model_row
        naive = f"the best naive forecast so far on lines 2-{first + 1:,}"
        if first >= values.size:
            return f"no model ({values.size:,} rows, the first is fitted on {first_fit:,}): {naive}"
        guarded = float(result.by_naive[first:].mean())
        return (
            f"{naive}, the model's from line {first + 2:,} of {values.size + 1:,} (a naive "
            f"forecast instead of {guarded:.1%} of them, where it had been clearly better over "
            "the last day)"
        )

    return _each_series(args, write)


def _resource(key: str):
    """One resource of the deployment (MLPLATFORM_DEPLOYMENT), its settings resolved."""
    import dagster as dg

    from mlplatform.resources.build import build_resources

    with dg.build_resources({key: build_resources()[key]}) as resources:
        return getattr(resources, key)


def _registry():
    return _resource("registry").open()


def cmd_sql(args: argparse.Namespace) -> int:
    import duckdb
    import polars as pl

    from mlplatform.lib.lake.sql import query_lake

    lake = _resource("lake_reader")
    tables = lake.tables()
    try:
        result = query_lake(args.query, tables, lake.storage_options())
    except duckdb.Error as exc:
        print(f"error: {exc}\ntables: {', '.join(sorted(tables)) or 'none yet'}", file=sys.stderr)
        return 2
    if result is None:  # a statement without rows (SET, CREATE ...): nothing to print
        return 0
    if args.csv:
        result.write_csv(sys.stdout)
    else:
        with pl.Config(tbl_rows=args.rows, tbl_cols=-1, tbl_width_chars=200):
            print(result)
    return 0


def _registered(registry: Registry, name: str) -> list[ModelVersion]:
    """`name`'s versions; an unknown name is a LookupError that lists the registered ones."""
    versions = registry.versions(name)
    if not versions:
        known = sorted({v.name for v in registry.versions()})
        raise LookupError(
            f"no model named {name!r} is registered (registered: {', '.join(known) or 'none yet'})"
        )
    return versions


def cmd_models(args: argparse.Namespace) -> int:
    from mlflow.exceptions import MlflowException

    from mlplatform.lib.models.promotion import demote

    registry = _registry()
    try:
        # every action on a name first checks it, so a typo is not taken for a model
        # without a champion (or, by `demote`, for the anomaly detector)
        versions = _registered(registry, args.name) if args.name else registry.versions()
        if args.action == "list":
            if not versions:
                print(
                    "no registered models yet: first_training_sensor trains each once its "
                    "input has min_training_days partitions"
                )
            for v in versions:
                print(v.summary)
        elif args.action == "promote":
            numbers = [v.version for v in versions]
            if args.version not in numbers:
                raise LookupError(
                    f"{args.name} has no version {args.version} "
                    f"(registered: {', '.join(f'v{n}' for n in numbers)})"
                )
            registry.promote(
                args.name, args.version, reason="manual promotion (mlplatform models promote)"
            )
            print(f"{args.name} v{args.version} is now the champion")
        elif args.action == "demote":
            version, baseline = demote(registry, args.name, args.reason)
            print(
                f"{args.name} v{version} is no longer the champion: forecasts are served by "
                f"naive/{baseline} until a version is promoted (re-materialize "
                "serving partitions already written to replace them)"
            )
        else:
            restored = registry.rollback(args.name)
            print(f"{args.name}: champion rolled back to v{restored}")
    except (MlflowException, LookupError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _share(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1")
    return value


def _simulation_options(parser: argparse.ArgumentParser) -> None:
    """What the simulator makes, for `simulate` and for what `seed` and `demo` seed."""
    parser.add_argument("--resources", type=_positive, default=200, help="resources to simulate")
    parser.add_argument("--seed", type=int, default=7, help="simulator seed")
    parser.add_argument(
        "--anomaly-rate",
        type=_share,
        default=0.02,
        help="chance a resource has an anomaly starting on a day (default 0.02)",
    )
    parser.add_argument(
        "--every-anomaly-kind",
        action="store_true",
        help="deploy shifts, stuck metrics and service outages too, not only spikes, level "
        "shifts and memory leaks",
    )


def build_parser() -> argparse.ArgumentParser:
    from mlplatform.lib.ingest.simulator import DRIFT_KINDS

    parser = argparse.ArgumentParser(prog="mlplatform", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sim = sub.add_parser("simulate", help="write simulated landing files and labels")
    sim.add_argument("--start", type=_date, required=True, help="first day, YYYY-MM-DD")
    sim.add_argument("--days", type=_positive, required=True)
    _simulation_options(sim)
    sim.add_argument("--drift-start", type=_date, default=None, help="a drift begins on this day")
    sim.add_argument(
        "--drift-kind",
        choices=DRIFT_KINDS,
        default="mix",
        help="mix: more load, later peak, heavier requests; level: more load; shape: later "
        "peak, weaker weekend dip; memory: 20 points more memory (default mix)",
    )
    sim.add_argument(
        "--out", default=None, help="landing root (default $MLPLATFORM_DATA_DIR/landing)"
    )
    sim.set_defaults(run=cmd_simulate)

    seed = sub.add_parser("seed", help="simulate recent days if the landing zone is empty")
    seed.add_argument("--days", type=_positive, default=14)
    _simulation_options(seed)
    seed.set_defaults(run=cmd_seed)

    demo = sub.add_parser(
        "demo",
        help="the whole graph headless: seed if empty, run the daemon until every layer is "
        "built, summarise",
        description="Seed if the landing zone is empty, run the Dagster daemon on the instance "
        "in $DAGSTER_HOME until every layer and model is built for the landed days (progress "
        "shown), stop it, and summarise what was built and where to look. `make demo` runs it.",
    )
    demo.add_argument("--days", type=_positive, default=14, help="days to seed if empty")
    _simulation_options(demo)
    demo.add_argument(
        "--timeout", type=_positive, default=1800, help="seconds to wait for the build"
    )
    demo.add_argument("--workspace", default="workspace.yaml", help="the daemon's workspace")
    demo.add_argument(
        "--ui-url", default="http://127.0.0.1:3000", help="where `make run` serves the UI"
    )
    demo.set_defaults(run=cmd_demo)

    feat = sub.add_parser(
        "features", help="compute features/resource_hourly from a clean hourly table"
    )
    feat.add_argument("--input", required=True, help="clean hourly metrics, Parquet")
    feat.add_argument("--output", required=True, help="feature table, Parquet")
    feat.set_defaults(run=cmd_features)
    detect = sub.add_parser("detect", help="causal anomaly scores for every timestamp,value CSV")
    detect.add_argument("--input", required=True, help="a CSV, or a folder of them (NAB layout)")
    detect.add_argument(
        "--output", required=True, help="folder for timestamp,anomaly_score,is_anomaly,signal"
    )
    detect.add_argument(
        "--group",
        choices=["none", "folder"],
        default="none",
        help="folder: each folder's CSVs are one resource's metrics, scored together as "
        "incidents (a row alerts when its alert belongs to one); none: each CSV alone",
    )
    detect.set_defaults(run=cmd_detect)

    forecast = sub.add_parser(
        "forecast", help="rolling-origin forecasts for every timestamp,value CSV"
    )
    forecast.add_argument("--input", required=True, help="a CSV, or a folder of them (NAB layout)")
    forecast.add_argument("--output", required=True, help="folder for timestamp,h1..hH")
    forecast.add_argument("--horizon", type=_positive, default=4)
    forecast.set_defaults(run=cmd_forecast)
    sql = sub.add_parser(
        "sql", help="DuckDB SQL over the lake (local or S3), tables named layer.table"
    )
    sql.add_argument("query", help='e.g. "SELECT count(*) FROM clean.metrics_hourly"')
    sql.add_argument("--csv", action="store_true", help="write CSV to standard output")
    sql.add_argument("--rows", type=_positive, default=20, help="rows to print (default 20)")
    sql.set_defaults(run=cmd_sql)

    models = sub.add_parser("models", help="the model registry: list, promote, rollback, demote")
    actions = models.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list")
    listing.add_argument("name", nargs="?")
    promote = actions.add_parser("promote")
    promote.add_argument("name")
    promote.add_argument("version", type=_positive)
    rollback = actions.add_parser("rollback")
    rollback.add_argument("name")
    demote_parser = actions.add_parser(
        "demote", help="withdraw a forecaster's champion: its naive forecast serves instead"
    )
    demote_parser.add_argument("name")
    demote_parser.add_argument(
        "--reason", default="manual demotion (mlplatform models demote)", help="kept as a tag"
    )
    models.set_defaults(run=cmd_models)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    raise SystemExit(main())
