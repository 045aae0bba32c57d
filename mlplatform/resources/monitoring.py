"""Monitoring thresholds, the retrain cooldown, and where reports are written."""

from pathlib import Path

import dagster as dg
from pydantic import Field

from mlplatform.lib.drift import Thresholds


class MonitoringPolicy(dg.ConfigurableResource):
    drift_warn_share: float = Field(default=0.5, description="Share of drifted columns: WARN.")
    drift_error_share: float = Field(default=1.0, description="Share of drifted columns: ERROR.")
    performance_warn_ratio: float = Field(
        default=1.25, description="Live MAE / training MAE at which the check warns."
    )
    performance_error_ratio: float = Field(
        default=1.5, description="Live MAE / training MAE at which the check errors."
    )
    retrain_cooldown_hours: float = Field(
        default=72.0, description="No second retrain of a model within this many hours."
    )

    def drift(self) -> Thresholds:
        return Thresholds(self.drift_warn_share, self.drift_error_share)

    def performance(self) -> Thresholds:
        return Thresholds(self.performance_warn_ratio, self.performance_error_ratio)


class Reports(dg.ConfigurableResource):
    root: str

    def path(self, kind: str, partition: str) -> Path:
        return Path(self.root) / kind / f"{partition}.html"
