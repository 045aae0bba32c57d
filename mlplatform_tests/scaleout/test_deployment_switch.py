"""The deployment switch: scale-out Definitions load with their Celery executor and S3
resources, the workers' file agrees with the executor, and missing settings are named."""

import dagster as dg
import pytest
import yaml

from mlplatform.definitions import CELERY_RELIABILITY, build_definitions
from mlplatform.resources.lake import LakeIOManager
from mlplatform.settings import scaleout_settings
from mlplatform_tests.scaleout.conftest import REPO

SCALEOUT = {
    "MLPLATFORM_DEPLOYMENT": "scaleout",
    "MLPLATFORM_S3_URL": "s3://bucket/prefix/",
    "MLPLATFORM_MLFLOW_URI": "postgresql+psycopg2://u@db/mlflow",
    "MLPLATFORM_CELERY_BROKER": "pyamqp://guest:guest@127.0.0.1:5672//",
}


def test_scaleout_definitions_load(monkeypatch):
    for key, value in SCALEOUT.items():
        monkeypatch.setenv(key, value)
    defs = build_definitions()
    dg.Definitions.validate_loadable(defs)
    job = defs.resolve_implicit_global_asset_job_def()
    assert job.executor_def.name == "celery"
    lake = defs.resources["lake"]
    assert isinstance(lake, LakeIOManager) and lake.base_path == "s3://bucket/prefix/lake"


def test_workers_start_with_the_executor_settings():
    worker = yaml.safe_load((REPO / "deploy" / "scaleout" / "celery.yaml").read_text())
    config = worker["execution"]["config"]
    assert config["config_source"] == CELERY_RELIABILITY
    assert config["broker"] == {"env": "MLPLATFORM_CELERY_BROKER"}


def test_missing_scaleout_settings_are_named(monkeypatch):
    for key in SCALEOUT:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MLPLATFORM_S3_URL", "s3://bucket")
    with pytest.raises(ValueError, match="MLPLATFORM_MLFLOW_URI, MLPLATFORM_CELERY_BROKER"):
        scaleout_settings()
    monkeypatch.setenv("MLPLATFORM_MLFLOW_URI", "x")
    monkeypatch.setenv("MLPLATFORM_CELERY_BROKER", "y")
    monkeypatch.setenv("MLPLATFORM_S3_URL", "/local/folder")
    with pytest.raises(ValueError, match="must start with s3://"):
        scaleout_settings()
