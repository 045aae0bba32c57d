"""The scale-out instance file keeps runs and events in a real PostgreSQL."""

import shutil
import subprocess
from pathlib import Path

import dagster as dg
import psycopg2
import pytest

from mlplatform.definitions import ASSETS
from mlplatform.resources.build import local_resources
from mlplatform_tests.delivery.scenario import channel_variables, deliver_tick_by_tick
from mlplatform_tests.instance_checks import assert_only_interrupted_runs_are_retried
from mlplatform_tests.receivers import HttpReceiver, SmtpReceiver
from mlplatform_tests.scaleout.conftest import psycopg2_url

REPO = Path(__file__).resolve().parents[2]
PARTITIONS = ("2026-01-03", "2026-01-04")

pytestmark = [pytest.mark.scaleout, pytest.mark.xdist_group("scaleout")]  # see conftest


def _instance(tmp_path: Path, url: str, monkeypatch) -> dg.DagsterInstance:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "scaleout" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("MLPLATFORM_PG_URL", psycopg2_url(url))
    return dg.DagsterInstance.from_config(str(home))


def _materialize(root: Path, instance: dg.DagsterInstance, partition: str) -> None:
    result = dg.materialize(
        ASSETS,
        selection=dg.AssetSelection.groups("raw", "clean"),
        partition_key=partition,
        resources=local_resources(root),
        instance=instance,
    )
    assert result.success


def _rows(url: str, sql: str) -> list[tuple]:
    with psycopg2.connect(url) as con, con.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def test_runs_and_events_live_in_postgres(
    tmp_path: Path, landing_root: Path, pg_database: str, monkeypatch
):
    instance = _instance(tmp_path, pg_database, monkeypatch)
    _materialize(landing_root.parent, instance, PARTITIONS[0])
    runs = _rows(pg_database, "SELECT status FROM runs")
    assert runs == [("SUCCESS",)]
    materialized = _rows(
        pg_database,
        "SELECT DISTINCT asset_key FROM event_logs "
        "WHERE dagster_event_type = 'ASSET_MATERIALIZATION'",
    )
    assert {'["raw", "cloudwatch_metrics"]', '["clean", "quarantine"]'} <= {
        r[0] for r in materialized
    }


def test_postgres_restarted_between_runs(
    tmp_path: Path, landing_root: Path, pg_database: str, monkeypatch
):
    if shutil.which("pg_ctlcluster") is None:
        pytest.skip("pg_ctlcluster not available to restart the server")
    instance = _instance(tmp_path, pg_database, monkeypatch)
    _materialize(landing_root.parent, instance, PARTITIONS[0])
    version = subprocess.run(
        ["pg_lsclusters", "-h"], capture_output=True, text=True, check=True
    ).stdout.split()[0]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        timeout=120,
    )
    _materialize(landing_root.parent, instance, PARTITIONS[1])  # the pool reconnects
    assert sorted(r[0] for r in _rows(pg_database, "SELECT status FROM runs")) == [
        "SUCCESS",
        "SUCCESS",
    ]


def test_the_scaleout_instance_retries_interrupted_runs_only(
    tmp_path: Path, pg_database: str, monkeypatch
):
    with _instance(tmp_path, pg_database, monkeypatch) as instance:
        assert_only_interrupted_runs_are_retried(instance)


def test_alert_delivery_reads_the_postgres_instance(
    tmp_path: Path,
    pg_database: str,
    monkeypatch,
    http_receiver: HttpReceiver,
    smtp_receiver: SmtpReceiver,
):
    """The scenario the embedded default's SQLite passes, on the scale-out (and ECS) storage."""
    for name, value in channel_variables(http_receiver).items():
        monkeypatch.setenv(name, value)
    with _instance(tmp_path, pg_database, monkeypatch) as instance:
        deliver_tick_by_tick(instance, tmp_path / "data", http_receiver, smtp_receiver)
