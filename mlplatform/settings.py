"""The one deployment switch and the paths it implies, read when resources are built."""

from __future__ import annotations

import os
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
