"""The embedded default's instance (the repository's dagster.yaml) as `make run` loads it."""

from pathlib import Path

import dagster as dg

from mlplatform_tests.instance_checks import (
    assert_only_interrupted_runs_are_retried,
    repo_instance_home,
)


def test_the_local_instance_retries_interrupted_runs_only(tmp_path: Path):
    with dg.DagsterInstance.from_config(str(repo_instance_home(tmp_path))) as instance:
        assert_only_interrupted_runs_are_retried(instance)
