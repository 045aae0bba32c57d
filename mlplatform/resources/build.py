"""One function per deployment builds every resource; nothing reads the environment at import."""

from pathlib import Path
from typing import Any

import dagster as dg
from dagster_aws.s3 import S3Resource

from mlplatform.resources.aws_clients import AwsClients
from mlplatform.resources.lake import LakeIOManager
from mlplatform.resources.landing import LandingZone
from mlplatform.resources.models import LakeReader, ModelRegistry
from mlplatform.resources.monitoring import MonitoringPolicy, Reports
from mlplatform.resources.warehouse import Warehouse
from mlplatform.settings import (
    ScaleoutSettings,
    data_dir,
    deployment,
    max_landing_file_bytes,
    scaleout_settings,
)


def local_resources(root: Path) -> dict[str, Any]:
    """The embedded default: everything in files under `root`."""
    lake = root / "lake"
    warehouse = Warehouse(path=str(root / "warehouse.duckdb"), lake_root=str(lake))
    return {
        "landing": LandingZone(root=str(root / "landing"), max_file_bytes=max_landing_file_bytes()),
        "lake": LakeIOManager(base_path=str(lake), warehouse=warehouse),
        "warehouse": warehouse,
        "lake_reader": LakeReader(base_path=str(lake)),
        "registry": ModelRegistry(
            tracking_uri=f"sqlite:///{root / 'mlflow.db'}", artifact_root=str(root / "models")
        ),
        "reports": Reports(root=str(root / "reports")),
        "monitoring_policy": MonitoringPolicy(),
        "aws": AwsClients(),
    }


def scaleout_resources(settings: ScaleoutSettings) -> dict[str, Any]:
    """Landing zone, lake, model artifacts and reports under one S3 prefix (dagster-aws's
    S3Resource); the MLflow registry in a database named by `MLPLATFORM_MLFLOW_URI`. There is
    no DuckDB file: `mlplatform sql` reads the lake with Polars and queries it in DuckDB."""
    s3 = S3Resource(endpoint_url=settings.s3_endpoint_url, region_name=settings.region)
    base = settings.s3_url
    return {
        "landing": LandingZone(
            root=f"{base}/landing", s3=s3, max_file_bytes=max_landing_file_bytes()
        ),
        "lake": LakeIOManager(base_path=f"{base}/lake", s3=s3),
        "lake_reader": LakeReader(base_path=f"{base}/lake", s3=s3),
        "registry": ModelRegistry(
            tracking_uri=dg.EnvVar("MLPLATFORM_MLFLOW_URI"), artifact_root=f"{base}/models"
        ),
        "reports": Reports(root=f"{base}/reports", s3=s3),
        "monitoring_policy": MonitoringPolicy(),
        "aws": AwsClients(),
    }


def build_resources() -> dict[str, Any]:
    if deployment() == "local":
        return local_resources(data_dir())
    return scaleout_resources(scaleout_settings())
