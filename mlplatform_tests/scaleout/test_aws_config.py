"""The AWS deployment's instance file (deploy/ecs/dagster.yaml) loads and validates: its
ECS run launcher finds its task definition and container, its step logs go to S3. No cluster
runs here: ECS and S3 are moto's, on loopback; the instance storage is the real PostgreSQL."""

import shutil
from pathlib import Path

import boto3
import dagster as dg
import pytest
from dagster_aws.ecs import EcsRunLauncher
from dagster_aws.s3 import S3ComputeLogManager

from mlplatform_tests.scaleout.conftest import BUCKET, REPO, S3Server, psycopg2_url

pytestmark = [pytest.mark.scaleout, pytest.mark.xdist_group("scaleout")]  # see conftest


@pytest.fixture
def aws_home(tmp_path: Path, s3_server: S3Server, pg_database: str, monkeypatch) -> str:
    """DAGSTER_HOME holding deploy/ecs/dagster.yaml, its environment pointing at moto."""
    for key, value in {
        "AWS_ENDPOINT_URL": s3_server.endpoint,  # every boto3 client goes to moto
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MLPLATFORM_PG_URL": psycopg2_url(pg_database),
        "MLPLATFORM_ECS_TASK_DEFINITION": "mlplatform-run",
        "MLPLATFORM_LOG_BUCKET": BUCKET,
    }.items():
        monkeypatch.setenv(key, value)
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "ecs" / "dagster.yaml", home / "dagster.yaml")
    return str(home)


def register(containers: list[str]) -> str:
    definitions = [{"name": n, "image": "mlplatform:latest", "memory": 4096} for n in containers]
    ecs = boto3.client("ecs")
    task = ecs.register_task_definition(family="mlplatform-run", containerDefinitions=definitions)
    return task["taskDefinition"]["taskDefinitionArn"]


def test_ecs_instance_file_loads_and_validates(aws_home: str):
    registered = register(["run"])
    instance = dg.DagsterInstance.from_config(aws_home)
    launcher = instance.run_launcher
    assert isinstance(launcher, EcsRunLauncher)
    assert launcher.task_definition == registered  # looked up in ECS, container checked
    assert "MLPLATFORM_S3_URL" in launcher.env_vars
    # URLs with credentials reach the task as the task definition's secrets, never as plain
    # container overrides, which DescribeTasks and CloudTrail show
    with_credentials = {"MLPLATFORM_PG_URL", "MLPLATFORM_MLFLOW_URI", "MLPLATFORM_CELERY_BROKER"}
    assert not with_credentials & set(launcher.env_vars)
    assert isinstance(instance.compute_log_manager, S3ComputeLogManager)
    assert instance.get_runs() == []  # the storage answers from PostgreSQL
    # a run whose task died is noticed and retried; a failed asset is not retried
    assert instance.run_monitoring_enabled and instance.run_retries_enabled
    assert not instance.run_retries_retry_on_asset_or_op_failure


def test_ecs_instance_file_refuses_a_task_definition_without_the_run_container(aws_home: str):
    register(["web"])
    with pytest.raises(Exception, match="container is not defined"):
        _ = dg.DagsterInstance.from_config(aws_home).run_launcher
