"""Monitoring thresholds, the retrain cooldown, and where reports are written."""

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_aws.s3 import S3Resource
from pydantic import Field
from upath import UPath

from mlplatform.lib.monitoring.drift import Thresholds
from mlplatform.resources.objectstore import location, read_json, write_json


class MonitoringPolicy(dg.ConfigurableResource):
    # Set from benchmarks/drift_calibration.py (docs/evaluation.md): steady deployments reach
    # a drift share of 0.31, a signal drift of 0.21 and a skill ratio of 1.28 at most; a
    # traffic-mix change a share of 0.79 at once, a memory-only change a signal drift of 0.33.
    drift_warn_share: float = Field(
        default=0.35, description="Share of compared columns that drifted: WARN."
    )
    drift_error_share: float = Field(
        default=0.5, description="Share of compared columns that drifted: ERROR."
    )
    signal_warn_distance: float = Field(
        default=0.25,
        description="Median distance of the most moved metric's columns (signal drift): WARN.",
    )
    signal_error_distance: float = Field(
        default=0.3,
        description="Median distance of the most moved metric's columns (signal drift): ERROR.",
    )
    performance_warn_ratio: float = Field(
        default=1.5,
        description="Live skill (MAE / best naive MAE) over the training skill: WARN.",
    )
    performance_error_ratio: float = Field(
        default=2.0,
        description="Live skill (MAE / best naive MAE) over the training skill: ERROR.",
    )
    retrain_cooldown_hours: float = Field(
        default=72.0, description="No second retrain of a model within this many hours."
    )

    def drift(self) -> dict[str, Thresholds]:
        """The drift check's figures (`DriftSummary.figures`) and their thresholds."""
        return {
            "drift_share": Thresholds(self.drift_warn_share, self.drift_error_share),
            "signal_drift": Thresholds(self.signal_warn_distance, self.signal_error_distance),
        }

    def performance(self) -> dict[str, Thresholds]:
        return {
            "skill_ratio": Thresholds(self.performance_warn_ratio, self.performance_error_ratio)
        }


class Reports(dg.ConfigurableResource):
    """HTML reports under `root`: a local folder, or `s3://bucket/prefix` (with `s3`)."""

    root: str
    s3: S3Resource | None = None

    def state(self, name: str) -> dict[str, Any]:
        """A sensor's own record under `_state/` (the alert delivery ledger)."""
        return read_json(location(self.root, self.s3) / "_state" / f"{name}.json")

    def save_state(self, name: str, state: dict[str, Any]) -> None:
        write_json(location(self.root, self.s3) / "_state" / f"{name}.json", state, self.s3)

    def target(self, kind: str, partition: str) -> UPath:
        return location(self.root, self.s3) / kind / f"{partition}.html"

    def url(self, target: UPath) -> str:
        return Path(target.path).resolve().as_uri() if self.s3 is None else str(target)

    @contextmanager
    def writing(self, kind: str, partition: str) -> Iterator[Path]:
        """A local file to write the report to. Locally it replaces the report only once
        written, as the lake's files do: the UI's link never opens half a report, and a failed
        write leaves the previous one. On S3 it is uploaded once written."""
        target = self.target(kind, partition)
        if self.s3 is None:
            final = Path(target.path)
            final.parent.mkdir(parents=True, exist_ok=True)
            partial = final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")
            try:
                yield partial
                os.replace(partial, final)
            finally:
                partial.unlink(missing_ok=True)
            return
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / target.name
            yield local
            target.write_bytes(local.read_bytes())
