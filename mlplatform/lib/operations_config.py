"""The operator's one config file: which AWS sources to pull and where alerts go.

Read from `MLPLATFORM_OPERATIONS_CONFIG` (a YAML file; see `deploy/operations.example.yaml`).
Without it the platform reads only its landing zone (the embedded default's simulator data).
Secrets are never in the file: it names the environment variables that hold them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mlplatform.lib.ingest.catalog import COUNTERS, METRIC_ALIASES


class _Strict(BaseModel):
    # a misspelt key is an error, not a silently ignored setting
    model_config = ConfigDict(extra="forbid", frozen=True)


class CloudWatchMetrics(_Strict):
    """Metrics of one namespace, one series per resource (the value of `resource_dimension`)."""

    namespace: str = Field(examples=["AWS/EC2"])
    names: list[str] = Field(min_length=1, examples=[["CPUUtilization", "NetworkIn"]])
    resource_dimension: str = Field(examples=["InstanceId"])
    # empty: every resource `ListMetrics` finds with exactly this one dimension
    resources: list[str] = []
    service: str | None = None
    # default: Sum for counters (network, requests), Average for everything else
    stat: str | None = None

    def stat_of(self, name: str) -> str:
        if self.stat:
            return self.stat
        return "Sum" if METRIC_ALIASES.get(name) in COUNTERS else "Average"


class CloudWatchSource(_Strict):
    regions: list[str] = Field(min_length=1)
    metrics: list[CloudWatchMetrics] = Field(min_length=1)
    poll_every_minutes: int = Field(5, ge=1, le=60)
    period_seconds: Literal[60, 300, 3600] = 300
    # each poll re-reads this much before the last one's end: CloudWatch data can arrive late
    late_data_minutes: int = Field(180, ge=0)
    # how far back the first poll of a series reaches (CloudWatch keeps 5-minute data 15 days)
    first_poll_hours: int = Field(48, ge=1, le=24 * 15)
    endpoint_url: str | None = None  # an AWS-compatible server; unset for AWS itself


class CostExportSource(_Strict):
    """An AWS Data Exports FOCUS export: `s3://<bucket>/<prefix>/<export_name>/{data,metadata}/
    BILLING_PERIOD=YYYY-MM/...`."""

    bucket: str
    prefix: str = ""
    export_name: str
    region: str = "us-east-1"
    poll_every_minutes: int = Field(60, ge=5)
    endpoint_url: str | None = None


class _Channel(_Strict):
    # what the delivery ledger records a send under; the kind unless two share it
    name: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.kind  # type: ignore[attr-defined]


class SlackChannel(_Channel):
    kind: Literal["slack"]
    webhook_url_env: str  # the variable holding the incoming-webhook URL (a secret)


class EmailChannel(_Channel):
    kind: Literal["email"]
    host: str
    port: int = 587
    starttls: bool = True
    sender: str
    recipients: list[str] = Field(min_length=1)
    username_env: str | None = None
    password_env: str | None = None


class WebhookChannel(_Channel):
    """A generic JSON webhook in PagerDuty's Events API v2 shape."""

    kind: Literal["webhook"]
    url_env: str
    routing_key_env: str | None = None


Channel = Annotated[SlackChannel | EmailChannel | WebhookChannel, Field(discriminator="kind")]


class AlertDelivery(_Strict):
    channels: list[Channel] = Field(min_length=1)
    # links in messages point here (the Dagster UI as the team reaches it)
    ui_url: str = "http://127.0.0.1:3000"
    # one message per channel and kind lists at most this many; the rest are counted
    max_listed: int = Field(20, ge=1)
    # incidents whose peak alert scores below this are kept in serving but not sent
    min_score: float = Field(0.0, ge=0.0, le=1.0)
    # incidents below this severity are kept in serving but not sent; warning is the whole
    # fleet moving in one hour (the calendar)
    min_severity: Literal["warning", "error", "critical"] = "error"
    # the fleet's alert budget: at most this many incidents sent per day, the most severe
    # first; unset sends every incident that passes min_score and min_severity
    max_incidents_per_day: int | None = Field(None, ge=1)
    # an incident whose last hour is older than this is history, not news: kept in serving,
    # not sent (a catch-up of 90 days sends the last two days' incidents, not three months of
    # them); the sensor's first pass also reads only this far back in the event log
    max_alert_age_hours: int = Field(48, ge=1)
    # failing asset checks to send: those of ERROR severity, WARN and ERROR, or none
    checks: Literal["error", "warn", "off"] = "error"
    run_failures: bool = True

    @field_validator("channels")
    @classmethod
    def _names_unique(cls, channels: list) -> list:
        names = [c.label for c in channels]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"give channels of one kind distinct names: {', '.join(twice)}")
        return channels


class OperationsConfig(_Strict):
    account_id: str | None = Field(None, pattern=r"^\d{12}$")
    cloudwatch: CloudWatchSource | None = None
    cost_export: CostExportSource | None = None
    alerts: AlertDelivery | None = None

    @field_validator("account_id", mode="before")
    @classmethod
    def _account_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value


class OperationsConfigError(ValueError):
    """The config file is missing, not YAML, or breaks the schema; the message says where."""


def load_operations_config(path: Path) -> OperationsConfig:
    if not path.is_file():
        raise OperationsConfigError(f"MLPLATFORM_OPERATIONS_CONFIG names {path}: no such file")
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise OperationsConfigError(f"{path} is not valid YAML: {exc}") from None
    try:
        return OperationsConfig.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
            for e in exc.errors()
        )
        raise OperationsConfigError(f"{path}: {problems}") from None
