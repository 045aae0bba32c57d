"""What is worth telling people, as notices with a stable key, and grouped into messages."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from urllib.parse import quote

import polars as pl

SEVERITY_ORDER = ("warning", "error", "critical")
NOUNS = {"incident": "anomaly incident", "check": "failing check", "run": "failed run"}


@dataclass(frozen=True)
class Notice:
    key: str  # what "once" means: a key is sent at most once per channel
    kind: str  # incident | check | run
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


def incident_key(incident_id: str) -> str:
    return f"incident:{incident_id}"


def incident_notices(
    incidents: pl.DataFrame,
    partition: str,
    ui_url: str,
    min_score: float = 0.0,
    min_severity: str = "error",
    not_before: datetime | None = None,
    budget: int | None = None,
) -> list[Notice]:
    """One notice per row of serving/anomaly_incidents of `min_severity` or more whose peak
    score is `min_score` or more and whose last hour is `not_before` or later; with a
    `budget`, only that many, the most severe first. The key is the incident's id, so a re-run
    of the day, or a new model scoring it, is not news."""
    link = asset_link(ui_url, "serving/anomaly_incidents", partition)
    wanted = SEVERITY_ORDER[SEVERITY_ORDER.index(min_severity) :]
    recent = pl.lit(True) if not_before is None else pl.col("end") >= not_before
    rows = incidents.filter(
        pl.col("severity").is_in(wanted) & (pl.col("peak_score") >= min_score) & recent
    ).sort(["severity_score", "start", "incident_id"], descending=[True, False, False])
    if budget is not None:
        rows = rows.head(budget)
    return [
        Notice(
            key=incident_key(r["incident_id"]),
            kind="incident",
            severity=r["severity"],
            summary=incident_summary(r),
            link=link,
        )
        for r in rows.iter_rows(named=True)
    ]


def incident_summary(incident: dict, max_series: int = 5) -> str:
    """One line: how bad, what, since when, where it started and which series."""
    scope = incident["scope"]
    where = (
        incident["resources"][0]
        if scope == "resource"
        else f"{incident['service']} in {incident['region']}"
    )
    hours = f"{incident['start']:%Y-%m-%d %H:%M}"
    if incident["end"] != incident["start"]:
        hours += f"-{incident['end']:%H:%M}"
    series = incident["series"]
    listed = ", ".join(series[:max_series]) + (
        f" and {len(series) - max_series} more" if len(series) > max_series else ""
    )
    return (
        f"{incident['severity']}: {scope} {where}, {hours} UTC, "
        f"{incident['n_resources']} resource(s), {incident['n_series']} series, peak score "
        f"{incident['peak_score']:.3f}; first {incident['first_mover']}; series {listed}"
    )


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
        noun = NOUNS[kind]
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
