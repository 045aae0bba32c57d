"""One machine's metrics scored together (`mlplatform detect --group folder`): each series by
the causal per-series detector, then its alerts grouped into incidents by the same logic that
`serving/anomaly_incidents` uses, as one resource. A row alerts when its series' alert belongs
to an incident: a passing alert of one metric is dropped, an excursion that lasts or a strong
one is kept, whichever metric it is on.

The incident logic reads how long an excursion lasted: an alert's row is decided from it and
up to `PERSISTENCE_ROWS - 1` rows after it, as serving decides a closed day. Every other input
of a decision is causal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from mlplatform.lib.models.detector import DetectorSettings, Scored, score_causally
from mlplatform.lib.models.detector_tables import persistence
from mlplatform.lib.serving.incidents import IncidentSettings, incidents

GROUP = "group"  # the service and region the folder's one resource is filed under


@dataclass(frozen=True)
class GroupScored:
    scored: dict[str, Scored]  # each series on its own
    is_anomaly: dict[str, np.ndarray]  # each series' rows that belong to an incident
    incidents: pl.DataFrame  # INCIDENT_COLUMNS, the folder as resource `resource`


def score_group(
    series: Mapping[str, tuple[np.ndarray, np.ndarray]],
    resource: str = "machine",
    settings: DetectorSettings | None = None,
    incident_settings: IncidentSettings | None = None,
) -> GroupScored:
    """`series`: name -> (timestamps as datetime64, values), in arrival order."""
    settings = settings or DetectorSettings()
    scored = {name: score_causally(v, t, settings) for name, (t, v) in series.items()}
    parts = [_alerts(name, series[name], result, resource) for name, result in scored.items()]
    alerts = pl.concat(parts) if parts else pl.DataFrame()
    groups = pl.DataFrame({"resource_id": [resource], "service": [GROUP], "region": [GROUP]})
    found = incidents(alerts, groups, incident_settings)
    flagged = {
        name: result.is_anomaly & _in_incident(found, series[name][0], f"{resource}/{name}")
        for name, result in scored.items()
    }
    return GroupScored(scored, flagged, found)


def _alerts(
    name: str, series: tuple[np.ndarray, np.ndarray], result: Scored, resource: str
) -> pl.DataFrame:
    timestamps, values = series
    rows = np.flatnonzero(result.is_anomaly)
    ahead = persistence(result.score)
    return pl.DataFrame(
        {
            "resource_id": resource,
            "metric": name,
            "ts": pl.Series(timestamps[rows].astype("datetime64[us]")).dt.replace_time_zone("UTC"),
            "value": values[rows].astype(np.float64),
            "anomaly_score": result.score[rows],
            "signal": result.signal[rows].astype(str),
            "elevated_hours": ahead["elevated_hours"].gather(rows),
            "seen_hours": ahead["seen_hours"].gather(rows),
        }
    )


def _in_incident(found: pl.DataFrame, timestamps: np.ndarray, series: str) -> np.ndarray:
    """Rows whose time lies within an incident that holds `series` (resource/metric)."""
    inside = np.zeros(timestamps.size, dtype=bool)
    times = timestamps.astype("datetime64[us]")
    for start, end, members in found.select("start", "end", "series").iter_rows():
        if series in members:
            low = np.datetime64(start.replace(tzinfo=None), "us")
            high = np.datetime64(end.replace(tzinfo=None), "us")
            inside |= (times >= low) & (times <= high)
    return inside
