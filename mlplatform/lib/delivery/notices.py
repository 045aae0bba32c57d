"""What is worth telling people, as notices with a stable key, and grouped into messages."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from urllib.parse import quote

import polars as pl

SEVERITY_ORDER = ("warning", "error", "critical")


@dataclass(frozen=True)
class Notice:
    key: str  # what "once" means: a key is sent at most once per channel
    kind: str  # anomaly | check | run
    severity: str  # one of SEVERITY_ORDER
    summary: str  # one line
    link: str  # where to look in the UI

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Message:
    kind: str
    severity: str
    title: str
    lines: list[str]
    more: int  # notices beyond the listed lines
    links: list[str]
    keys: list[str]

    @property
    def text(self) -> str:
        body = [self.title, *(f"- {line}" for line in self.lines)]
        if self.more:
            body.append(f"... and {self.more} more")
        return "\n".join([*body, *self.links])


def asset_link(ui_url: str, asset_path: str, partition: str | None = None) -> str:
    link = f"{ui_url.rstrip('/')}/assets/{asset_path}"
    return f"{link}?partition={quote(partition)}" if partition else link


def anomaly_notices(
    alerts: pl.DataFrame,
    partition: str,
    ui_url: str,
    min_score: float,
    not_before: datetime | None = None,
) -> list[Notice]:
    """One notice per alert row of serving/anomaly_alerts scoring `min_score` or more on an
    hour from `not_before` on. The key is the anomaly itself (resource, metric, hour), so a
    re-run of the day, or a new model scoring it, is not news."""
    link = asset_link(ui_url, "serving/anomaly_alerts", partition)
    recent = pl.lit(True) if not_before is None else pl.col("ts") >= not_before
    rows = alerts.filter((pl.col("anomaly_score") >= min_score) & recent).sort(
        "ts", "resource_id", "metric"
    )
    return [
        Notice(
            key=f"anomaly:{r['resource_id']}:{r['metric']}:{r['ts'].isoformat()}",
            kind="anomaly",
            severity="critical" if r["anomaly_score"] >= 0.99 else "error",
            summary=(
                f"{r['resource_id']} {r['metric']} at {r['ts']:%Y-%m-%d %H:%M} UTC: value "
                f"{r['value']:.4g}, score {r['anomaly_score']:.3f} ({r['signal']})"
            ),
            link=link,
        )
        for r in rows.iter_rows(named=True)
    ]


def check_notice(
    asset_path: str,
    check_name: str,
    partition: str | None,
    severity: str,
    description: str | None,
    ui_url: str,
    run_id: str,
) -> Notice:
    """A failing check; each run's evaluation is its own notice (a check that fails again on a
    later run is sent again: it is still failing)."""
    where = f"{asset_path} [{partition}]" if partition else asset_path
    return Notice(
        key=f"check:{run_id}:{asset_path}:{check_name}:{partition or ''}",
        kind="check",
        severity="error" if severity == "ERROR" else "warning",
        summary=f"{where} check {check_name} failed" + (f": {description}" if description else ""),
        link=asset_link(ui_url, asset_path, partition),
    )


def run_notice(run_id: str, job_name: str, reason: str, ui_url: str) -> Notice:
    return Notice(
        key=f"run:{run_id}",
        kind="run",
        severity="error",
        summary=f"run of {job_name} failed: {reason}",
        link=f"{ui_url.rstrip('/')}/runs/{run_id}",
    )


def group(notices: Iterable[Notice], max_listed: int) -> list[Message]:
    """One message per kind: many alerts firing together make one message, not a flood."""
    by_kind: dict[str, list[Notice]] = {}
    for notice in notices:
        by_kind.setdefault(notice.kind, []).append(notice)
    messages = []
    for kind, items in by_kind.items():
        severity = max((n.severity for n in items), key=SEVERITY_ORDER.index)
        noun = {"anomaly": "anomaly alert", "check": "failing check", "run": "failed run"}[kind]
        title = f"[mlplatform] {len(items)} {noun}{'s' if len(items) > 1 else ''} ({severity})"
        messages.append(
            Message(
                kind=kind,
                severity=severity,
                title=title,
                lines=[n.summary for n in items[:max_listed]],
                more=max(0, len(items) - max_listed),
                links=sorted({n.link for n in items})[:max_listed],
                keys=[n.key for n in items],
            )
        )
    return messages
