"""The embedded default's instance (the repository's dagster.yaml) as `make run` loads it."""

from pathlib import Path

import dagster as dg

from mlplatform_tests.instance_checks import assert_only_interrupted_runs_are_retried

REPO = Path(__file__).resolve().parents[2]


def test_the_local_instance_retries_interrupted_runs_only(tmp_path: Path):
    text = (REPO / "dagster.yaml").read_text().replace(".dagster", str(tmp_path / ".dagster"))
    (tmp_path / "dagster.yaml").write_text(text)
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert_only_interrupted_runs_are_retried(instance)
