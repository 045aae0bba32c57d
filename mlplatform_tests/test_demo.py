"""`mlplatform demo`'s own parts; the whole command runs in e2e/test_hands_off.py."""

from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from mlplatform.demo import (
    describe_run,
    failure_reason,
    progress_line,
    verdict,
    will_be_retried,
)

DAYS = ["2026-01-01", "2026-01-02"]


def _verdict(missing=(), running=False, failed=0, idle=0.0, elapsed=10.0):
    return verdict(list(missing), running, failed, idle, elapsed, 600.0, 120.0)


def test_verdict_stops_when_built_fails_after_settling_or_times_out():
    assert _verdict() == (0, "")
    assert _verdict(failed=1)[0] == 1  # built in the end, but a run failed on the way
    assert _verdict(["clean/metrics_hourly/2026-01-01"], running=True) is None
    # a failed run: a retry or the next layer may still come, until nothing ran for a while
    assert _verdict(["x"], failed=1, idle=60.0) is None
    assert _verdict(["x"], failed=1, running=True, idle=300.0) is None
    status, said = _verdict(["x"], failed=1, idle=121.0)
    assert status == 1 and "since a run failed" in said
    # no failure: the quiet between layers is waited out, up to the timeout
    assert _verdict(["x"], idle=500.0) is None
    missing = [f"raw/cloudwatch_metrics/2026-01-{d:02d}" for d in range(1, 11)]
    status, said = _verdict(missing, running=True, elapsed=601.0)
    assert status == 1 and said.startswith("not built after 601 s: raw/cloudwatch_metrics/2026")
    assert said.endswith(" and 2 more")


def test_progress_line_counts_partitions_per_layer_models_and_runs(tmp_path: Path):
    table = tmp_path / "lake" / "clean" / "metrics_hourly"
    table.mkdir(parents=True)
    pl.DataFrame({"x": [1]}).write_parquet(table / f"{DAYS[0]}.parquet")
    line = progress_line(tmp_path, DAYS, [])
    assert line == (
        "raw 0/4 · clean 1/8 · features 0/4 · serving 0/10 · monitoring 0/4 · models 0/3 "
        "· runs: none yet"
    )


DAILY = dg.DailyPartitionsDefinition(start_date="2026-01-01")


@dg.asset(partitions_def=DAILY)
def daily() -> None:
    pass


@dg.asset
def breaks() -> None:
    raise ValueError("landing/metrics/2026-01-01/a.csv line 3: no timestamp")


def test_a_failed_runs_reason_is_its_failed_steps_error():
    with dg.instance_for_test() as instance:
        result = dg.materialize([breaks], instance=instance, raise_on_error=False)
        assert not result.success
        reason = failure_reason(instance, result.run_id)
        assert reason == "ValueError: landing/metrics/2026-01-01/a.csv line 3: no timestamp"
        run = instance.get_run_by_id(result.run_id)
        assert describe_run(run) == "FAILURE __ephemeral_asset_job__"
        assert not will_be_retried(run)  # no run_retries here, and an asset failure at that
        cut_short = run.with_tags({**run.tags, "dagster/will_retry": "true"})
        assert will_be_retried(cut_short)


def test_a_run_is_described_by_status_job_days_and_assets():
    with dg.instance_for_test() as instance:
        one = dg.materialize([daily], instance=instance, partition_key="2026-01-02")
        run = instance.get_run_by_id(one.run_id)
        assert describe_run(run) == "SUCCESS __ephemeral_asset_job__ 2026-01-02"
        job = dg.define_asset_job("daily_job", selection=[daily])
        defs = dg.Definitions(assets=[daily], jobs=[job])
        ranged = defs.resolve_job_def("daily_job").execute_in_process(
            instance=instance,
            asset_selection=[daily.key],
            tags={
                "dagster/asset_partition_range_start": "2026-01-01",
                "dagster/asset_partition_range_end": "2026-01-03",
            },
        )
        run = instance.get_run_by_id(ranged.run_id)
        assert describe_run(run) == "SUCCESS daily_job 2026-01-01..2026-01-03 ['daily']"


def test_progress_line_names_run_states_in_words(tmp_path: Path):
    with dg.instance_for_test() as instance:
        dg.materialize([breaks], instance=instance, raise_on_error=False)
        runs = instance.get_runs()
    assert progress_line(tmp_path, DAYS, runs).endswith("runs: 1 failed")


@pytest.mark.parametrize("status", list(dg.DagsterRunStatus))
def test_every_run_status_has_a_word(status):
    from mlplatform.demo import RUN_STATES

    assert status in RUN_STATES
