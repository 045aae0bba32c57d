"""The one deployment switch and the settings it implies, read when resources are built."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from mlplatform.lib.ingest.landing_days import first_landing_day
from mlplatform.lib.operations_config import OperationsConfig, load_operations_config

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


def catchup_days() -> int:
    """`MLPLATFORM_CATCHUP_DAYS` (default 90): automation builds every missing partition of the
    last this many days, and no older one (a person backfills older history on purpose)."""
    return _positive_int("MLPLATFORM_CATCHUP_DAYS", 90)


def partitions_per_run() -> int:
    """`MLPLATFORM_PARTITIONS_PER_RUN` (default 14): the most days one backfill or catch-up run
    covers. More days, fewer run start-ups; fewer days, less memory per run."""
    return _positive_int("MLPLATFORM_PARTITIONS_PER_RUN", 14)


def automation_interval_seconds() -> int:
    """`MLPLATFORM_AUTOMATION_INTERVAL_SECONDS` (default 30): how often the sensors and the
    automation conditions are evaluated; each layer waits at most one interval for the last."""
    return _positive_int("MLPLATFORM_AUTOMATION_INTERVAL_SECONDS", 30)


def explicit_partitions_start() -> date | None:
    """`MLPLATFORM_PARTITIONS_START` (YYYY-MM-DD), where the operator has set one."""
    text = os.environ.get("MLPLATFORM_PARTITIONS_START")
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"MLPLATFORM_PARTITIONS_START must be YYYY-MM-DD, got {text!r}") from None


def partitions_start(today: date | None = None) -> date:
    """The first daily partition: `MLPLATFORM_PARTITIONS_START` where set; otherwise, on the
    embedded default, the first day the landing zone holds (so a fresh deployment shows the
    days it has, and `seed` and `simulate` decide it by what they write); otherwise the start of
    the catch-up window. The scale-out deployment does not list S3 while its code loads: set
    the variable there, or it starts `MLPLATFORM_CATCHUP_DAYS` ago."""
    explicit = explicit_partitions_start()
    if explicit is not None:
        return explicit
    today = today or datetime.now(UTC).date()
    if deployment() == "local":
        return first_landing_day(data_dir() / "landing") or today
    return today - timedelta(days=catchup_days())


def operations_config() -> OperationsConfig | None:
    """`MLPLATFORM_OPERATIONS_CONFIG`: the YAML file of AWS sources (see
    `deploy/operations.example.yaml`); unset, the platform reads its landing zone only."""
    text = os.environ.get("MLPLATFORM_OPERATIONS_CONFIG")
    return load_operations_config(Path(text)) if text else None


DEFAULT_MAX_LANDING_FILE_BYTES = 2 * 1024**3


def max_landing_file_bytes() -> int:
    """`MLPLATFORM_MAX_LANDING_FILE_BYTES` (2 GiB): a landing file larger than this is
    quarantined by name, unread; the rest of its day still lands."""
    return _positive_int("MLPLATFORM_MAX_LANDING_FILE_BYTES", DEFAULT_MAX_LANDING_FILE_BYTES)


def _positive_int(name: str, default: int) -> int:
    text = os.environ.get(name)
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, got {text!r}")
    return int(text)


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
