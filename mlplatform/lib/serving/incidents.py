"""Incidents: the alerts that belong together, as an operator would triage them.

A per-series alert says one metric of one resource left its normal range in one hour. An
operator asks other questions: what is affected, since when, how bad, and where did it start.
The grouping answers them from the alerts and the resources' service and region alone:

1. **One resource, several metrics.** Alerts of one resource no more than `gap_hours` apart
   are one episode: CPU, requests and network that jump together are one problem.
2. **One service, several resources.** Episodes of `min_group_resources` or more resources of
   one service and region whose hours overlap (within `gap_hours`) are one service incident,
   not N resource incidents.
3. **The whole fleet at once is the calendar.** When, in one hour, at least half of the
   service/region groups (and two or more) each have `fleet_share` of their resources
   alerting, the fleet moved together: the first weekend of a young fleet, a holiday, a clock
   change.
   That hour's alerts are one `fleet` incident of `warning` severity, not one per resource
   or service. A fleet with a single service and region never has one: there, such an hour
   stays a service incident.
4. **A lone, weak alert is not an incident.** An episode of one series whose score stays
   under `lone_min_score` stays a row of `serving/anomaly_alerts` only; a second metric, a
   peer or a stronger score makes it one.

What it does not infer: causality. The first mover is the series that alerted first (ties:
the higher score), a hint of where to look, not a proven root cause; metrics without alerts
are not read, and nothing links incidents across days.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

SEVERITIES = ("warning", "error", "critical")
PERSISTENCE = ("elevated_hours", "seen_hours")  # serving/anomaly_alerts' record of how long
UNKNOWN = "unknown"  # a resource whose service or region no source named
# what an operator reads first comes first (the asset page's preview shows the leading columns)
INCIDENT_COLUMNS: dict[str, pl.DataType] = {
    "severity": pl.String(),
    "scope": pl.String(),  # resource | service | fleet
    "service": pl.String(),
    "region": pl.String(),
    "start": pl.Datetime("us", "UTC"),
    "end": pl.Datetime("us", "UTC"),
    "first_mover": pl.String(),
    "series": pl.List(pl.String()),
    "n_resources": pl.Int64(),
    "n_series": pl.Int64(),
    "peak_score": pl.Float64(),
    "severity_score": pl.Float64(),
    "duration_hours": pl.Int64(),
    "resources": pl.List(pl.String()),
    "incident_id": pl.String(),
}


@dataclass(frozen=True)
class IncidentSettings:
    gap_hours: int = 2  # alerts this many hours apart or closer belong together
    # resources of one service and region moving together make a service incident: at least
    # this many, and at least `group_share` of the group
    min_group_resources: int = 3
    group_share: float = 0.2
    # a resource's episode is an incident if one of its alerts scores `strong_score`, or
    # stayed elevated `min_elevated_hours` (or every hour seen since, if fewer have landed)
    strong_score: float = 0.9
    min_elevated_hours: int = 2

    def __post_init__(self) -> None:
        if self.gap_hours < 0 or self.min_group_resources < 2 or self.min_elevated_hours < 1:
            raise ValueError(
                "gap_hours must be >= 0, min_group_resources >= 2, min_elevated_hours >= 1"
            )
        if not 0 <= self.group_share <= 1 or not 0.5 <= self.strong_score <= 1:
            raise ValueError("group_share must be in [0, 1] and strong_score in [0.5, 1]")


def empty_incidents() -> pl.DataFrame:
    return pl.DataFrame(schema=INCIDENT_COLUMNS)


def resource_groups(hourly: pl.DataFrame, other: pl.DataFrame | None = None) -> pl.DataFrame:
    """resource_id, service, region of every resource the day's clean tables hold
    (clean/metrics_hourly and, if given, clean/other_metrics_hourly)."""
    columns = ["resource_id", "service", "region"]
    frames = [hourly.select(columns), *([] if other is None else [other.select(columns)])]
    return (
        pl.concat(frames)
        .with_columns(pl.col("service", "region").fill_null(UNKNOWN))
        .unique("resource_id", keep="first")
        .sort("resource_id")
    )


def incidents(
    alerts: pl.DataFrame, groups: pl.DataFrame, settings: IncidentSettings | None = None
) -> pl.DataFrame:
    """The incidents (INCIDENT_COLUMNS) of one day's `serving/anomaly_alerts` rows, given
    every resource's service and region (`resource_groups`): the whole fleet, not only the
    resources that alerted, since the service and calendar rules weigh group sizes."""
    settings = settings or IncidentSettings()
    if alerts.is_empty():
        return empty_incidents()
    # alerts written before persistence was recorded: as if nothing after them had landed
    unknown = [pl.lit(1, pl.Int64).alias(c) for c in PERSISTENCE if c not in alerts.columns]
    rows = (
        alerts.with_columns(unknown)
        .join(groups, on="resource_id", how="left")
        .with_columns(
            pl.col("service", "region").fill_null(UNKNOWN),
            series=pl.concat_str("resource_id", pl.lit("/"), "metric"),
        )
        .sort("ts", "resource_id", "metric")
    )
    sizes = {(s, r): n for s, r, n in groups.group_by("service", "region").len().iter_rows()}
    services: list[pl.DataFrame] = []
    found: list[dict] = []
    for (service, region), group in rows.group_by("service", "region", maintain_order=True):
        wanted = max(
            settings.min_group_resources,
            math.ceil(settings.group_share * sizes.get((service, region), 0)),
        )
        for cluster in _clusters(group, settings.gap_hours):
            if cluster["resource_id"].n_unique() >= wanted:
                services.append(cluster)
            else:
                found += [
                    _incident("resource", e)
                    for e in _episodes(cluster, settings.gap_hours)
                    if _qualifies(e, settings)
                ]
    calendar, services = _calendar(services, len(sizes), settings.gap_hours)
    found += [_incident("service", c) for c in services]
    found += [_fleet_incident(c) for c in calendar]
    if not found:
        return empty_incidents()
    return (
        pl.DataFrame(found, schema=INCIDENT_COLUMNS)
        .sort(["severity_score", "start", "incident_id"], descending=[True, False, False])
        .select(list(INCIDENT_COLUMNS))
    )


def _qualifies(episode: pl.DataFrame, settings: IncidentSettings) -> bool:
    if episode["anomaly_score"].max() >= settings.strong_score:
        return True
    needed = episode["seen_hours"].clip(upper_bound=settings.min_elevated_hours)
    return bool((episode["elevated_hours"] >= needed).any())


def _episodes(rows: pl.DataFrame, gap: int) -> list[pl.DataFrame]:
    """Each resource's alerts split where more than `gap` hours pass without one."""
    out = []
    for _, of_resource in rows.sort("ts").group_by("resource_id", maintain_order=True):
        breaks = (of_resource["ts"].diff().dt.total_hours().fill_null(0) > gap).cum_sum()
        out += [part for _, part in of_resource.with_columns(_e=breaks).group_by("_e")]
    return [e.drop("_e").sort("ts") for e in out]


def _clusters(group: pl.DataFrame, gap: int) -> list[pl.DataFrame]:
    """The episodes of one service and region, merged where their hours overlap or lie no
    more than `gap` hours apart."""
    return [pl.concat(c) for c in _merge_in_time(_episodes(group, gap), gap)]


def _merge_in_time(parts: list[pl.DataFrame], gap: int) -> list[list[pl.DataFrame]]:
    merged: list[list[pl.DataFrame]] = []
    end = None
    for part in sorted(parts, key=lambda p: p["ts"].min()):
        if merged and part["ts"].min() - end <= timedelta(hours=gap):
            merged[-1].append(part)
            end = max(end, part["ts"].max())
        else:
            merged.append([part])
            end = part["ts"].max()
    return merged


def _calendar(
    services: list[pl.DataFrame], all_groups: int, gap: int
) -> tuple[list[pl.DataFrame], list[pl.DataFrame]]:
    """Service clusters of most groups (two or more) at the same hours are the fleet moving
    together, one calendar incident; the others stay service incidents."""
    wanted = max(2, math.ceil(all_groups / 2))
    calendar, kept = [], []
    for together in _merge_in_time(services, gap):
        groups = {(c["service"][0], c["region"][0]) for c in together}
        if all_groups >= 2 and len(groups) >= wanted:
            calendar.append(pl.concat(together))
        else:
            kept += together
    return calendar, kept


def _fleet_incident(rows: pl.DataFrame) -> dict:
    incident = _incident("fleet", rows)
    return incident | {
        "service": ",".join(sorted(set(rows["service"]))),
        "region": ",".join(sorted(set(rows["region"]))),
        "severity": "warning",
        "severity_score": min(incident["severity_score"], 0.5),
    }


def _incident(scope: str, rows: pl.DataFrame) -> dict:
    first = rows.sort(["ts", "anomaly_score", "series"], descending=[False, True, False]).row(
        0, named=True
    )
    start, end = rows["ts"].min(), rows["ts"].max()
    resources, series = sorted(set(rows["resource_id"])), sorted(set(rows["series"]))
    hours = int((end - start).total_seconds() // 3600) + 1
    peak = float(rows["anomaly_score"].max())
    where = first["resource_id"] if scope == "resource" else f"{first['service']}/{first['region']}"
    key = f"{scope}|{where}|{start.isoformat()}"
    return {
        "incident_id": hashlib.sha256(key.encode()).hexdigest()[:16],
        "scope": scope,
        "service": first["service"],
        "region": first["region"],
        "severity": severity(peak, len(resources), len(series), hours),
        "severity_score": severity_score(peak, len(resources), len(series), hours),
        "start": start,
        "end": end,
        "duration_hours": hours,
        "first_mover": first["series"],
        "peak_score": peak,
        "n_resources": len(resources),
        "n_series": len(series),
        "resources": resources,
        "series": series,
    }


def severity_score(peak: float, resources: int, series: int, hours: int) -> float:
    """0-1: how far beyond normal (the peak score, half the weight), how many series (a
    quarter: 8 or more count fully) and how long (a quarter: 6 hours or more)."""
    far = min(1.0, max(0.0, 2 * peak - 1))
    wide = min(1.0, math.log2(max(series, resources)) / 3)
    long = min(1.0, (hours - 1) / 5)
    return round(0.5 * far + 0.25 * wide + 0.25 * long, 4)


def severity(peak: float, resources: int, series: int, hours: int) -> str:
    """critical: a clear anomaly (score 0.95+) on 3 or more series or resources, or lasting 3
    hours or more; error: a strong score (0.75+) or two series; warning otherwise."""
    if peak >= 0.95 and (max(resources, series) >= 3 or hours >= 3):
        return "critical"
    if peak >= 0.75 or series >= 2:
        return "error"
    return "warning"


def ui_path(day: date) -> str:
    """Where the day's incidents are in the UI, relative to its address."""
    return f"/assets/serving/anomaly_incidents?partition={day.isoformat()}"
