"""Hourly aggregation of metrics, and the FOCUS cost lines' own rules."""

from datetime import UTC, date, datetime

import polars as pl

from mlplatform.lib.cleaning.cost import clean_cost
from mlplatform.lib.cleaning.metrics import clean_metrics
from mlplatform.lib.cleaning.schemas import other_metrics_hourly_schema
from mlplatform.lib.cleaning.validation import conservation, schema_failures
from mlplatform.lib.ingest.catalog import (
    COST_OPTIONAL,
    COST_REQUIRED,
    METRICS_OPTIONAL,
    METRICS_REQUIRED,
)
from mlplatform.lib.ingest.raw import ingest
from mlplatform_tests.conftest import ARRIVED

DAY = date(2026, 1, 3)


def _raw(text: str, required, optional, name: str = "f.csv") -> pl.DataFrame:
    files = {name: text.encode()}
    return ingest([(name, ARRIVED)], files.__getitem__, required, optional).raw


def test_gauges_are_averaged_counters_summed_and_network_directions_added():
    rows = [
        ("00:00", "CPUUtilization", 10),
        ("00:30", "CPUUtilization", 30),
        ("00:05", "RequestCount", 100),
        ("00:55", "RequestCount", 50),
        ("00:10", "NetworkIn", 1000),
        ("00:10", "NetworkOut", 500),
        ("01:00", "mem_used_percent", 40),
    ]
    text = "timestamp,resource_id,metric_name,value,service,region\n" + "".join(
        f"2026-01-03T{t}:00Z,i-1,{m},{v},EC2,eu-west-1\n" for t, m, v in rows
    )
    cleaned = clean_metrics(_raw(text, METRICS_REQUIRED, METRICS_OPTIONAL), DAY)
    hours = cleaned.clean.sort("ts").rows(named=True)
    assert [h["ts"] for h in hours] == [
        datetime(2026, 1, 3, 0, tzinfo=UTC),
        datetime(2026, 1, 3, 1, tzinfo=UTC),
    ]
    first, second = hours
    assert first["cpu_utilization"] == 20.0
    assert first["request_count"] == 150.0
    assert first["network_io"] == 1500.0
    assert first["memory_utilization"] is None  # not reported that hour: null, not a rejection
    assert first["source_rows"] == 6
    assert second["memory_utilization"] == 40.0 and second["cpu_utilization"] is None
    assert (first["service"], first["region"]) == ("EC2", "eu-west-1")


def test_metrics_outside_the_catalog_are_kept_hourly_under_their_own_names():
    rows = [
        ("00:05", "CPUUtilization", "10"),
        ("00:10", "DiskReadOps", "5"),
        ("00:40", "DiskReadOps", "8"),  # an unknown kind: averaged, not summed
        ("01:15", " DiskReadOps ", "-2"),  # the platform cannot tell its sign is wrong
        ("01:20", "Temperature delta", "-2.5"),
        ("01:25", "CPUUtilization", "-1"),  # a catalog metric still may not be negative
        ("01:30", "DiskReadOps", "nan"),
        ("01:35", "x" * 256, "1"),
        ("01:40", "bad\x07name", "1"),
    ]
    text = "timestamp,resource_id,metric_name,value,service\n" + "".join(
        f"2026-01-03T{t}:00Z,i-1,{m},{v},EC2\n" for t, m, v in rows
    )
    raw = _raw(text, METRICS_REQUIRED, METRICS_OPTIONAL)
    cleaned = clean_metrics(raw, DAY)
    assert cleaned.clean["cpu_utilization"].to_list() == [10.0]
    assert cleaned.other.select(
        "metric", pl.col("ts").dt.hour(), "value", "source_rows"
    ).rows() == [
        ("DiskReadOps", 0, 6.5, 2),
        ("DiskReadOps", 1, -2.0, 1),
        ("Temperature delta", 1, -2.5, 1),
    ]
    assert cleaned.other["service"].unique().to_list() == ["EC2"]
    reasons = cleaned.quarantine.sort("source_line")["reason"].to_list()
    assert reasons[0].startswith("negative value")
    assert reasons[1].startswith("value is NaN")
    assert all(r.startswith("not a metric name (1 to 255 printable") for r in reasons[2:])
    assert len(reasons) == 4
    assert conservation(raw, cleaned, "metrics").holds
    assert schema_failures(cleaned.other, other_metrics_hourly_schema()).is_empty()


FOCUS_HEADER = ",".join(COST_REQUIRED) + "\n"


def _line(**overrides: str) -> str:
    values = {
        "ChargePeriodStart": "2026-01-03T00:00:00Z",
        "ChargePeriodEnd": "2026-01-04T00:00:00Z",
        "BilledCost": "2.5",
        "EffectiveCost": "2.0",
        "BillingCurrency": "USD",
        "ServiceName": "Amazon Elastic Compute Cloud",
        "ServiceCategory": "Compute",
        "ResourceId": "i-1",
        "RegionId": "us-east-1",
        "SubAccountId": "111111111111",
        "ConsumedQuantity": "24",
        "ConsumedUnit": "Hours",
        "ChargeCategory": "Usage",
    } | overrides
    return ",".join(values[c] for c in COST_REQUIRED) + "\n"


def test_cost_lines_rules_and_daily_sums():
    lines = [
        _line(),
        _line(ConsumedUnit="GB", BilledCost="0.5", EffectiveCost="0.5", ConsumedQuantity="5.5"),
        _line(
            ChargeCategory="Credit", BilledCost="-1.0", EffectiveCost="-1.0", ConsumedQuantity=""
        ),
        _line(ChargeCategory="Usage", BilledCost="-4", ResourceId="i-neg"),
        _line(BillingCurrency="dollars", ResourceId="i-cur"),
        _line(ChargePeriodEnd="2026-01-02T00:00:00Z", ResourceId="i-end"),
        _line(BilledCost="abc", ResourceId="i-txt"),
        _line(
            ChargePeriodStart="2026-01-05T00:00:00Z",
            ChargePeriodEnd="2026-01-06T00:00:00Z",
            ResourceId="i-late",
        ),
        _line(SubAccountId="", ResourceId="i-acct"),
        _line(ServiceName="  ", ResourceId="i-blank"),
    ]
    cleaned = clean_cost(_raw(FOCUS_HEADER + "".join(lines), COST_REQUIRED, COST_OPTIONAL), DAY)
    assert cleaned.accepted_rows + cleaned.quarantine.height == cleaned.raw_rows == 10
    reasons = dict(
        zip(cleaned.quarantine["source_line"], cleaned.quarantine["reason"], strict=True)
    )
    assert reasons[5].startswith("negative cost on a usage charge")
    assert reasons[6] == "billing currency is not a 3-letter ISO 4217 code (value: dollars)"
    assert reasons[7].startswith("charge period ends before it starts")
    assert reasons[8] == "not a number: abc"
    assert reasons[9].startswith("outside the partition day 2026-01-03")
    assert reasons[10] == "missing value in required column 'SubAccountId'"
    assert reasons[11] == "empty service_name (value: )"
    usage = cleaned.clean.filter(pl.col("charge_category") == "Usage").row(0, named=True)
    assert usage["billed_cost"] == 3.0 and usage["source_rows"] == 2
    credit = cleaned.clean.filter(pl.col("charge_category") == "Credit")
    assert credit["billed_cost"].to_list() == [-1.0]


def test_duplicate_cost_line_later_arrival_wins():
    first = {"a.csv": (FOCUS_HEADER + _line(BilledCost="1.0")).encode()}
    second = {"b.csv": (FOCUS_HEADER + _line(BilledCost="9.0")).encode()}
    files = first | second
    later = datetime(2026, 1, 5, tzinfo=UTC)
    raw = ingest(
        [("a.csv", ARRIVED), ("b.csv", later)], files.__getitem__, COST_REQUIRED, COST_OPTIONAL
    ).raw
    cleaned = clean_cost(raw, DAY)
    assert cleaned.clean["billed_cost"].to_list() == [9.0]
    assert cleaned.quarantine["reason"].to_list() == [
        "duplicate key, superseded by the later arrival at b.csv:2"
    ]


XSS = "</script><script>alert(document.domain)</script>"


def test_identifiers_outside_the_contract_are_quarantined_with_the_reason():
    """Data values are data: a service, resource or unit carrying markup never reaches a
    clean table (where drift reports, Markdown metadata and messages would show it)."""
    rows = [
        ("i-1", "CPUUtilization", "EC2", "Percent"),  # the honest row
        ("arn:aws:ec2:us-east-1:123456789012:instance/i-2", "CPUUtilization", "AWS/EC2", "%"),
        ("i-3", "CPUUtilization", XSS, "Percent"),
        ("<img src=x onerror=alert(1)>", "CPUUtilization", "EC2", "Percent"),
        ("i-5", "CPUUtilization", "EC2", "Count<!channel>"),
        ("i-6", "Disk\u202eReadOps", "EC2", "Count"),
        ("i-" + "7" * 300, "CPUUtilization", "EC2", "Percent"),
    ]
    text = "timestamp,resource_id,metric_name,value,service,unit\n" + "".join(
        f'2026-01-03T01:00:00Z,"{r}",{m},5,"{s}",{u}\n' for r, m, s, u in rows
    )
    cleaned = clean_metrics(_raw(text, METRICS_REQUIRED, METRICS_OPTIONAL), DAY)
    reasons = dict(
        zip(cleaned.quarantine["source_line"], cleaned.quarantine["column"], strict=True)
    )
    assert reasons == {4: "service", 5: "resource_id", 6: "unit", 7: "metric", 8: "resource_id"}
    assert cleaned.quarantine["reason"].str.starts_with("not an identifier (1-256").all()
    assert sorted(cleaned.clean["resource_id"]) == [rows[1][0], "i-1"]
    line = _line(ServiceName=XSS, ResourceId="i-x")
    cost = clean_cost(_raw(FOCUS_HEADER + _line() + line, COST_REQUIRED, COST_OPTIONAL), DAY)
    [(column, reason)] = cost.quarantine.select("column", "reason").rows()
    assert column == "service_name" and reason.startswith("not an identifier")
