"""The one deployment switch and the settings it implies, read when resources are built."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEPLOYMENTS = ("local", "scaleout")


def deployment() -> str:
    """`MLPLATFORM_DEPLOYMENT`: `local` (embedded default) or `scaleout`."""
    value = os.environ.get("MLPLATFORM_DEPLOYMENT", "local")
    if value not in DEPLOYMENTS:
        raise ValueError(f"MLPLATFORM_DEPLOYMENT must be one of {DEPLOYMENTS}, got {value!r}")
    return value


def data_dir() -> Path:
    """`MLPLATFORM_DATA_DIR` (default `./data`): landing zone, lake, warehouse, models, reports."""
    return Path(os.environ.get("MLPLATFORM_DATA_DIR", "data")).resolve()


@dataclass(frozen=True)
class ScaleoutSettings:
    """Where the scale-out deployment keeps things. Secrets are not here: the MLflow database
    URL and the Celery broker URL are read by Dagster from the environment (`dg.EnvVar`,
    `{"env": ...}`) and AWS credentials come from the standard chain."""

    s3_url: str  # s3://bucket/prefix: landing/, lake/, models/, reports/ below it
    s3_endpoint_url: str | None  # an S3-compatible server; None for AWS itself
    region: str


def scaleout_settings() -> ScaleoutSettings:
    missing = [
        name
        for name in ("MLPLATFORM_S3_URL", "MLPLATFORM_MLFLOW_URI", "MLPLATFORM_CELERY_BROKER")
        if not os.environ.get(name)
    ]
    if missing:
        raise ValueError(
            f"MLPLATFORM_DEPLOYMENT=scaleout needs {', '.join(missing)} "
            "(see docs/deploy.md for every setting)"
        )
    s3_url = os.environ["MLPLATFORM_S3_URL"].rstrip("/")
    if not s3_url.startswith("s3://"):
        raise ValueError(f"MLPLATFORM_S3_URL must start with s3://, got {s3_url!r}")
    return ScaleoutSettings(
        s3_url=s3_url,
        s3_endpoint_url=os.environ.get("MLPLATFORM_S3_ENDPOINT_URL") or None,
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
    )
