"""What every instance file of the project promises about runs that end early."""

from pathlib import Path

import dagster as dg

REPO = Path(__file__).resolve().parents[1]


@dg.asset
def failing_asset() -> None:
    raise ValueError("a bad landing file")


def assert_only_interrupted_runs_are_retried(instance: dg.DagsterInstance) -> None:
    """Runs cut short are retried by the daemon, and runs stuck starting are failed (and so
    retried); a run whose asset failed is not retried: no retry loop over a bad day."""
    assert instance.run_retries_enabled and instance.run_retries_max_retries == 2
    assert not instance.run_retries_retry_on_asset_or_op_failure
    assert instance.run_monitoring_enabled
    assert instance.run_monitoring_settings["max_resume_run_attempts"] == 0
    result = dg.materialize([failing_asset], instance=instance, raise_on_error=False)
    run = instance.get_run_by_id(result.run_id)
    assert run.tags["dagster/failure_reason"] == "STEP_FAILURE"
    assert run.tags["dagster/will_retry"] == "false"


def repo_instance_home(home: Path) -> Path:
    """`home` as DAGSTER_HOME holding the repository's own dagster.yaml (the embedded
    default users get: SQLite, its event log sharded by run), its folders moved under `home`."""
    home.mkdir(parents=True, exist_ok=True)
    text = (REPO / "dagster.yaml").read_text().replace(".dagster", str(home / ".dagster"))
    (home / "dagster.yaml").write_text(text)
    return home
