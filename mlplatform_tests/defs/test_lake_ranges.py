"""The lake IO manager on runs over several days: one file per day, in and out."""

from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from mlplatform.resources.lake import LakeIOManager

DAYS = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-10")
RANGE = {
    "dagster/asset_partition_range_start": "2026-01-02",
    "dagster/asset_partition_range_end": "2026-01-04",
}


@dg.asset(key=["t", "daily"], partitions_def=DAYS, io_manager_key="lake")
def daily(context: dg.AssetExecutionContext) -> dict[str, pl.DataFrame]:
    return {k: pl.DataFrame({"day": [k]}) for k in context.partition_keys}


@dg.asset(key=["t", "by_day"], partitions_def=DAYS, io_manager_key="lake")
def by_day(daily: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    return {k: f.with_columns(seen=pl.lit(k)) for k, f in daily.items()}


@dg.asset(key=["t", "whole"], partitions_def=DAYS, io_manager_key="lake")
def whole(context: dg.AssetExecutionContext, daily: pl.DataFrame) -> dict[str, pl.DataFrame]:
    return {k: daily.filter(pl.col("day") <= k) for k in context.partition_keys}


@dg.asset(key=["t", "short"], partitions_def=DAYS, io_manager_key="lake")
def short(context: dg.AssetExecutionContext) -> dict[str, pl.DataFrame]:
    return {context.partition_keys[0]: pl.DataFrame({"day": [context.partition_keys[0]]})}


def _run(tmp_path: Path, assets, tags=RANGE, **kw) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        assets, resources={"lake": LakeIOManager(base_path=str(tmp_path))}, tags=tags, **kw
    )


def test_a_range_run_writes_one_file_per_day_and_reads_them_back_by_day(tmp_path: Path):
    assert _run(tmp_path, [daily, by_day]).success
    written = sorted(p.name for p in (tmp_path / "t" / "by_day").iterdir())
    assert written == ["2026-01-02.parquet", "2026-01-03.parquet", "2026-01-04.parquet"]
    day = pl.read_parquet(tmp_path / "t" / "by_day" / "2026-01-03.parquet")
    assert day.to_dicts() == [{"day": "2026-01-03", "seen": "2026-01-03"}]
    # an input typed as one frame gets the run's days concatenated, in order
    assert _run(tmp_path, [daily, whole], selection=[whole.key]).success
    last = pl.read_parquet(tmp_path / "t" / "whole" / "2026-01-04.parquet")
    assert last["day"].to_list() == ["2026-01-02", "2026-01-03", "2026-01-04"]
    # a single-day run gets its one day as a mapping too
    one = _run(tmp_path, [daily, by_day], tags=None, partition_key="2026-01-05")
    assert one.success and (tmp_path / "t" / "by_day" / "2026-01-05.parquet").exists()


def test_an_output_missing_a_day_of_its_run_fails_and_names_the_days(tmp_path: Path):
    with pytest.raises(Exception, match=r"holds partitions \['2026-01-02'\], the run is for"):
        _run(tmp_path, [short])
    assert not (tmp_path / "t" / "short").exists()
