"""Grouping one day's alerts into incidents as an operator triages them."""

from datetime import UTC, datetime

import polars as pl
import pytest

from mlplatform.lib.serving.incidents import (
    INCIDENT_COLUMNS,
    IncidentSettings,
    incidents,
    resource_groups,
    severity,
)

GROUPS = pl.DataFrame(
    {
        "resource_id": [f"i-{k}" for k in range(12)],
        "service": ["EC2"] * 8 + ["RDS"] * 4,
        "region": ["us-east-1"] * 4 + ["eu-west-1"] * 4 + ["us-east-1"] * 4,
    }
)


def _alerts(rows: list[tuple], seen: int = 6) -> pl.DataFrame:
    """(resource, metric, hour of 2026-01-05, score[, elevated hours, default 2]) each."""
    return pl.DataFrame(
        {
            "resource_id": [r[0] for r in rows],
            "metric": [r[1] for r in rows],
            "ts": [datetime(2026, 1, 5, r[2], tzinfo=UTC) for r in rows],
            "value": 1.0,
            "anomaly_score": [r[3] for r in rows],
            "signal": "beyond_range",
            "elevated_hours": [r[4] if len(r) > 4 else 2 for r in rows],
            "seen_hours": seen,
        }
    )


def test_the_metrics_of_one_resource_moving_together_are_one_incident():
    alerts = _alerts(
        [
            ("i-1", "request_count", 10, 0.6),
            ("i-1", "cpu_utilization", 10, 0.98),
            ("i-1", "network_io", 11, 0.7),
        ]
    )
    [incident] = incidents(alerts, GROUPS).iter_rows(named=True)
    assert incident["scope"] == "resource"
    assert (incident["service"], incident["region"]) == ("EC2", "us-east-1")
    assert incident["n_series"] == 3 and incident["n_resources"] == 1
    # the earliest alert first; of two in one hour the stronger one
    assert incident["first_mover"] == "i-1/cpu_utilization"
    assert incident["duration_hours"] == 2 and incident["peak_score"] == 0.98
    assert incident["severity"] == "critical"  # clear, on three series
    assert incident["series"] == ["i-1/cpu_utilization", "i-1/network_io", "i-1/request_count"]


def test_a_passing_weak_alert_is_no_incident_a_lasting_or_strong_one_is():
    """Noise is one hour just past the range; a shift stays, a spike is far out."""
    passing = ("i-1", "cpu_utilization", 3, 0.55, 1)
    assert incidents(_alerts([passing]), GROUPS).is_empty()
    # even on several metrics at once: traffic noise moves requests, network and CPU together
    together = [passing, ("i-1", "request_count", 3, 0.56, 1), ("i-1", "network_io", 4, 0.6, 1)]
    assert incidents(_alerts(together), GROUPS).is_empty()
    assert incidents(_alerts([("i-1", "cpu_utilization", 3, 0.55, 2)]), GROUPS).height == 1
    [strong] = incidents(_alerts([("i-1", "cpu_utilization", 3, 0.9, 1)]), GROUPS).iter_rows(
        named=True
    )
    assert strong["n_series"] == 1 and strong["severity"] == "error"
    # the last landed hour: nothing after it is known yet, and all that is known is elevated
    assert incidents(_alerts([passing], seen=1), GROUPS).height == 1


def test_alerts_hours_apart_are_separate_incidents():
    alerts = _alerts([("i-1", "cpu_utilization", 2, 0.9), ("i-1", "cpu_utilization", 9, 0.9)])
    found = incidents(alerts, GROUPS)
    assert found["start"].dt.hour().sort().to_list() == [2, 9]
    assert found["incident_id"].n_unique() == 2


def test_resources_of_one_service_moving_together_are_one_service_incident():
    rows = [(f"i-{k}", "request_count", 14 + k % 2, 0.6, 1) for k in range(4)]
    rows.append(("i-5", "request_count", 20, 0.6, 1))  # another region, lone and passing: none
    found = incidents(_alerts(rows), GROUPS)
    [incident] = found.iter_rows(named=True)
    assert incident["scope"] == "service"
    assert (incident["service"], incident["region"]) == ("EC2", "us-east-1")
    assert incident["resources"] == ["i-0", "i-1", "i-2", "i-3"]
    assert incident["first_mover"] == "i-0/request_count"


def test_the_whole_fleet_at_once_is_one_calendar_warning():
    """The first Saturday of a young fleet: every group dips around midnight."""
    rows = [(f"i-{k}", m, k % 3, 0.56) for k in range(12) for m in ("cpu", "requests")]
    rows.append(("i-3", "cpu", 15, 0.99))  # and a real one that afternoon
    found = incidents(_alerts(rows), GROUPS)
    fleet = found.filter(pl.col("scope") == "fleet").row(0, named=True)
    assert fleet["severity"] == "warning" and fleet["n_resources"] == 12
    assert fleet["service"] == "EC2,RDS" and fleet["region"] == "eu-west-1,us-east-1"
    assert found.height == 2
    assert found.filter(pl.col("scope") == "resource")["resources"].to_list() == [["i-3"]]


def test_one_services_outage_beside_a_quiet_fleet_is_not_the_calendar():
    rows = [(f"i-{k}", "requests", 9, 0.7, 1) for k in range(4)]  # EC2 us-east-1, all of it
    rows.append(("i-9", "requests", 9, 0.7, 1))  # one RDS resource: noise
    [outage] = incidents(_alerts(rows), GROUPS).iter_rows(named=True)
    assert outage["scope"] == "service" and outage["n_resources"] == 4


def test_a_fleet_of_one_service_and_region_has_no_calendar_hour():
    groups = GROUPS.with_columns(service=pl.lit("EC2"), region=pl.lit("us-east-1"))
    rows = [(f"i-{k}", "cpu", 0, 0.56) for k in range(12)]
    [incident] = incidents(_alerts(rows), groups).iter_rows(named=True)
    assert incident["scope"] == "service" and incident["n_resources"] == 12


def test_ids_are_stable_and_the_schema_is_kept():
    alerts = _alerts([("i-1", "cpu", 4, 0.9), ("i-2", "cpu", 7, 0.95)])
    first, again = incidents(alerts, GROUPS), incidents(alerts.reverse(), GROUPS)
    assert first["incident_id"].to_list() == again["incident_id"].to_list()
    assert dict(first.schema) == INCIDENT_COLUMNS
    assert dict(incidents(alerts.clear(), GROUPS).schema) == INCIDENT_COLUMNS
    # ranked by severity: the stronger one first
    assert first["resources"].to_list() == [["i-2"], ["i-1"]]


def test_alerts_from_before_persistence_was_recorded_still_make_incidents():
    old = _alerts([("i-1", "cpu_utilization", 3, 0.55, 1)]).drop("elevated_hours", "seen_hours")
    assert incidents(old, GROUPS).height == 1


def test_a_resource_no_source_placed_is_grouped_as_unknown():
    hourly = pl.DataFrame(
        {"resource_id": ["i-1", "i-2"], "service": ["EC2", None], "region": ["eu-west-1", None]}
    )
    other = pl.DataFrame({"resource_id": ["i-9"], "service": ["Lambda"], "region": ["us-east-1"]})
    groups = resource_groups(hourly, other)
    assert groups.rows() == [
        ("i-1", "EC2", "eu-west-1"),
        ("i-2", "unknown", "unknown"),
        ("i-9", "Lambda", "us-east-1"),
    ]
    [incident] = incidents(_alerts([("i-7", "cpu", 1, 0.9)]), groups).iter_rows(named=True)
    assert (incident["service"], incident["region"]) == ("unknown", "unknown")


@pytest.mark.parametrize(
    ("peak", "resources", "series", "hours", "expected"),
    [
        (0.99, 1, 1, 1, "error"),
        (0.99, 1, 3, 1, "critical"),
        (0.99, 1, 1, 4, "critical"),
        (0.6, 1, 2, 1, "error"),
        (0.6, 5, 1, 1, "warning"),
    ],
)
def test_severity(peak, resources, series, hours, expected):
    assert severity(peak, resources, series, hours) == expected


def test_settings_are_checked():
    with pytest.raises(ValueError, match="min_group_resources"):
        IncidentSettings(min_group_resources=1)
    with pytest.raises(ValueError, match="strong_score"):
        IncidentSettings(strong_score=0.2)
