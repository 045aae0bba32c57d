"""Two partitions materialized at the same time, in two processes, share the lake and the
DuckDB warehouse without either failing on a lock."""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import duckdb
import polars as pl


def _materialize(root: str, day: str) -> bool:
    import dagster as dg

    from mlplatform.definitions import ASSETS
    from mlplatform.resources.build import local_resources

    result = dg.materialize(
        ASSETS,
        partition_key=day,
        resources=local_resources(Path(root)),
        selection=dg.AssetSelection.groups("raw", "clean"),
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    return result.success


def _pool(workers: int) -> ProcessPoolExecutor:
    # unlike multiprocessing.Pool, a worker that dies fails the call instead of hanging it
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


def test_two_partitions_concurrently(landing_root: Path):
    root = landing_root.parent
    days = ["2026-01-05", "2026-01-06"]
    with _pool(2) as pool:
        results = list(pool.map(_materialize, [str(root)] * 2, days))
    assert results == [True, True]
    for day in days:
        assert (
            pl.read_parquet(root / "lake" / "clean" / "metrics_hourly" / f"{day}.parquet").height
            == 12 * 24
        )
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        per_day = con.execute(
            "SELECT CAST(ts AS DATE) AS d, count(*) FROM clean.metrics_hourly GROUP BY d ORDER BY d"
        ).fetchall()
    assert [(str(d), n) for d, n in per_day] == [(days[0], 288), (days[1], 288)]


def test_warehouse_lock_held_elsewhere_does_not_fail_a_run(landing_root: Path):
    """An analyst holding the DuckDB file read-write must not break materializations."""
    root = landing_root.parent
    warehouse = root / "warehouse.duckdb"
    # this process holds the write lock throughout
    with duckdb.connect(str(warehouse)), _pool(1) as pool:
        ok = pool.submit(_materialize, str(root), "2026-01-05").result()
    assert ok
    assert (root / "lake" / "clean" / "quarantine" / "2026-01-05.parquet").exists()
