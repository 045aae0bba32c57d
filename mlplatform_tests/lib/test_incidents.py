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


def _alerts(rows: list[tuple[str, str, int, float]]) -> pl.DataFrame:
    """(resource, metric, hour of 2026-01-05, score) each."""
    return pl.DataFrame(
        {
            "resource_id": [r[0] for r in rows],
            "metric": [r[1] for r in rows],
            "ts": [datetime(2026, 1, 5, r[2], tzinfo=UTC) for r in rows],
            "value": 1.0,
            "anomaly_score": [r[3] for r in rows],
            "signal": "beyond_range",
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


def test_a_lone_weak_alert_is_no_incident_and_a_lone_strong_one_is():
    assert incidents(_alerts([("i-1", "cpu_utilization", 3, 0.55)]), GROUPS).is_empty()
    [strong] = incidents(_alerts([("i-1", "cpu_utilization", 3, 0.9)]), GROUPS).iter_rows(
        named=True
    )
    assert strong["n_series"] == 1 and strong["severity"] == "error"


def test_alerts_hours_apart_are_separate_incidents():
    alerts = _alerts([("i-1", "cpu_utilization", 2, 0.9), ("i-1", "cpu_utilization", 9, 0.9)])
    found = incidents(alerts, GROUPS)
    assert found["start"].dt.hour().sort().to_list() == [2, 9]
    assert found["incident_id"].n_unique() == 2


def test_resources_of_one_service_moving_together_are_one_service_incident():
    rows = [(f"i-{k}", "request_count", 14 + k % 2, 0.6) for k in range(4)]
    rows.append(("i-5", "request_count", 20, 0.6))  # another region, lone and weak: none
    found = incidents(_alerts(rows), GROUPS)
    [incident] = found.iter_rows(named=True)
    assert incident["scope"] == "service"
    assert (incident["service"], incident["region"]) == ("EC2", "us-east-1")
    assert incident["resources"] == ["i-0", "i-1", "i-2", "i-3"]
    assert incident["first_mover"] == "i-0/request_count"


def test_the_whole_fleet_in_one_hour_is_one_calendar_warning():
    """The first Saturday of a young fleet: every group dips at midnight."""
    rows = [(f"i-{k}", m, 0, 0.56) for k in range(0, 12, 2) for m in ("cpu", "requests")]
    rows.append(("i-3", "cpu", 15, 0.99))  # and a real one that afternoon
    found = incidents(_alerts(rows), GROUPS)
    fleet = found.filter(pl.col("scope") == "fleet").row(0, named=True)
    assert fleet["severity"] == "warning" and fleet["n_resources"] == 6
    assert fleet["service"] == "EC2,RDS" and fleet["region"] == "eu-west-1,us-east-1"
    assert found.height == 2
    assert found.filter(pl.col("scope") == "resource")["resources"].to_list() == [["i-3"]]


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
    with pytest.raises(ValueError, match="lone_min_score"):
        IncidentSettings(lone_min_score=0.2)
