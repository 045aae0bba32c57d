"""The CloudWatch source against moto's server on loopback, through a throttling proxy:
incremental polls, late data, a gap, throttling, and on into raw and clean."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from mlplatform.definitions import ASSETS
from mlplatform.lib.ingest import cloudwatch
from mlplatform.lib.ingest.cloudwatch import Series, merge_landed, plan_windows
from mlplatform.lib.operations_config import CloudWatchMetrics, CloudWatchSource
from mlplatform.resources.aws_clients import AwsClients
from mlplatform.resources.build import local_resources
from mlplatform.resources.landing import LandingZone
from mlplatform_tests.sources.conftest import REGION, ThrottlingProxy, aws_client

INSTANCES = ("i-0aaa", "i-0bbb", "i-0ccc")
START = datetime(2026, 1, 4, 22, tzinfo=UTC)
FIVE_MINUTES = timedelta(minutes=5)


def _put(client, instance: str, name: str, stamps: list[datetime], value) -> None:
    for i in range(0, len(stamps), 500):  # PutMetricData's limit per call
        client.put_metric_data(
            Namespace="AWS/EC2",
            MetricData=[
                {
                    "MetricName": name,
                    "Dimensions": [{"Name": "InstanceId", "Value": instance}],
                    "Timestamp": t,
                    "Value": value(t),
                }
                for t in stamps[i : i + 500]
            ],
        )


def _stamps(start: datetime, end: datetime) -> list[datetime]:
    return [start + k * FIVE_MINUTES for k in range(int((end - start) / FIVE_MINUTES))]


def _source(endpoint: str, **overrides) -> CloudWatchSource:
    settings = {
        "regions": [REGION],
        "metrics": [
            CloudWatchMetrics(
                namespace="AWS/EC2",
                names=["CPUUtilization", "NetworkIn"],
                resource_dimension="InstanceId",
                service="compute",
            )
        ],
        "first_poll_hours": 12,
        "late_data_minutes": 60,
        "endpoint_url": endpoint,
    }
    return CloudWatchSource(**(settings | overrides))


def _landed(root: Path) -> pl.DataFrame:
    files = sorted((root / "metrics").glob("*/cloudwatch-*.parquet"))
    return pl.concat([pl.read_parquet(f) for f in files])


@pytest.fixture
def landing(tmp_path: Path) -> LandingZone:
    return LandingZone(root=str(tmp_path / "landing"))


def test_plan_windows_follow_the_cursor_and_reread_the_late_window():
    series = [
        Series(REGION, "AWS/EC2", "CPUUtilization", (("InstanceId", i),), i, "Average")
        for i in ("i-new", "i-old")
    ]
    now = datetime(2026, 1, 5, 6, 7, 30, tzinfo=UTC)
    cursors = {series[1].key: "2026-01-05T05:00:00+00:00"}
    windows = plan_windows(
        series,
        cursors,
        now,
        late=timedelta(minutes=60),
        first_poll=timedelta(hours=12),
        period=FIVE_MINUTES,
    )
    end = datetime(2026, 1, 5, 6, tzinfo=UTC)  # the 06:00 hour is not complete: not read yet
    assert windows[series[0].key] == (end - timedelta(hours=12), end)
    assert windows[series[1].key] == (datetime(2026, 1, 5, 4, tzinfo=UTC), end)
    # a cursor older than the first-poll reach is cut to it: no unbounded re-read
    stale = {s.key: "2025-12-01T00:00:00+00:00" for s in series}
    assert plan_windows(series, stale, now, timedelta(0), timedelta(hours=12), FIVE_MINUTES)[
        series[0].key
    ][0] == end - timedelta(hours=12)


def test_a_point_read_again_replaces_the_earlier_reading():
    def rows(values: dict[int, float]) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "timestamp": [START + k * FIVE_MINUTES for k in values],
                "resource_id": "i-0aaa",
                "metric_name": "CPUUtilization",
                "value": list(values.values()),
                "namespace": "AWS/EC2",
                "region": REGION,
                "service": None,
                "stat": "Average",
                "period_seconds": 300,
                "dimensions": '{"InstanceId": "i-0aaa"}',
            },
            schema=cloudwatch.LANDING_SCHEMA,
        )

    merged = merge_landed(rows({0: 1.0, 1: 2.0}), rows({1: 2.5, 2: 3.0}))
    assert merged["value"].to_list() == [1.0, 2.5, 3.0]


def test_polls_land_every_point_once_through_throttling_late_data_and_a_gap(
    throttling_proxy: ThrottlingProxy, landing: LandingZone, tmp_path: Path
):
    client = aws_client("cloudwatch", throttling_proxy.upstream_url)
    first_end = START + timedelta(hours=6)
    gap = (START + timedelta(hours=2), START + timedelta(hours=3))
    for instance in INSTANCES:
        stamps = _stamps(START, first_end)
        if instance == "i-0bbb":  # its agent was down for an hour
            stamps = [t for t in stamps if not gap[0] <= t < gap[1]]
        _put(client, instance, "CPUUtilization", stamps, lambda t: 10.0 + t.minute / 10)
        _put(client, instance, "NetworkIn", stamps, lambda t: 1000.0)
    source = _source(throttling_proxy.endpoint)
    clients = {}

    def client_for(region: str):
        clients[region] = AwsClients(aws_access_key_id="test", aws_secret_access_key="test")
        return clients[region].client("cloudwatch", region, source.endpoint_url)

    first = cloudwatch.poll(source, client_for, landing, first_end)
    assert first.series == 6 and first.empty_series == []
    points = 6 * 72 - 2 * 12  # 6 h of 5-minute points per series, less i-0bbb's gap
    assert first.points == points
    landed = _landed(tmp_path / "landing")
    assert landed.height == points
    assert sorted(p.name for p in (tmp_path / "landing" / "metrics").iterdir()) == [
        "2026-01-04",
        "2026-01-05",
    ]
    in_gap = landed.filter(
        (pl.col("resource_id") == "i-0bbb") & pl.col("timestamp").is_between(*gap, closed="left")
    )
    assert in_gap.is_empty()

    # two more hours, one point that arrived late inside the re-read window, and throttling
    second_end = first_end + timedelta(hours=2)
    for instance in INSTANCES:
        _put(client, instance, "CPUUtilization", _stamps(first_end, second_end), lambda t: 50.0)
        _put(client, instance, "NetworkIn", _stamps(first_end, second_end), lambda t: 1000.0)
    late_point = first_end - timedelta(minutes=30)
    _put(client, "i-0aaa", "CPUUtilization", [late_point], lambda t: 90.0)  # a second sample
    throttling_proxy.throttle_next(3)
    second = cloudwatch.poll(source, client_for, landing, second_end)
    assert throttling_proxy.throttled == 3
    assert second.retries >= 3  # botocore backed off and retried; nothing failed
    landed = _landed(tmp_path / "landing")
    assert landed.height == points + 6 * 24  # re-read points replaced, none duplicated
    assert landed.select(cloudwatch.POINT_KEY).is_duplicated().sum() == 0
    late = landed.filter(
        (pl.col("resource_id") == "i-0aaa")
        & (pl.col("metric_name") == "CPUUtilization")
        & (pl.col("timestamp") == late_point)
    )
    assert late["value"].item() == pytest.approx((10.0 + late_point.minute / 10 + 90.0) / 2)
    cursors = landing.state(cloudwatch.STATE_NAME)
    assert set(cursors.values()) == {second_end.isoformat()}

    # a poll with nothing new rewrites no file, so nothing is ingested again
    assert cloudwatch.poll(source, client_for, landing, second_end).files_written == []


def test_polled_points_go_on_into_raw_and_clean_with_their_provenance(
    aws_endpoint: str, tmp_path: Path
):
    client = aws_client("cloudwatch", aws_endpoint)
    day_start = datetime(2026, 1, 5, tzinfo=UTC)
    stamps = _stamps(day_start, day_start + timedelta(hours=3))
    _put(client, "i-0aaa", "CPUUtilization", stamps, lambda t: 20.0 + t.minute)
    _put(client, "i-0aaa", "NetworkIn", stamps, lambda t: 100.0)
    _put(client, "i-0aaa", "NetworkOut", stamps, lambda t: 50.0)
    source = _source(aws_endpoint, first_poll_hours=3)
    source = source.model_copy(
        update={
            "metrics": [
                source.metrics[0].model_copy(
                    update={"names": ["CPUUtilization", "NetworkIn", "NetworkOut"]}
                )
            ]
        }
    )
    resources = local_resources(tmp_path)
    aws = AwsClients(aws_access_key_id="test", aws_secret_access_key="test")
    cloudwatch.poll(
        source,
        lambda region: aws.client("cloudwatch", region, aws_endpoint),
        resources["landing"],
        day_start + timedelta(hours=3),
    )
    result = dg.materialize(
        ASSETS,
        selection=dg.AssetSelection.groups("raw", "clean"),
        partition_key="2026-01-05",
        resources=resources,
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    raw = pl.read_parquet(tmp_path / "lake" / "raw" / "cloudwatch_metrics" / "2026-01-05.parquet")
    assert set(raw["source_file"]) == {"metrics/2026-01-05/cloudwatch-us-east-1.parquet"}
    extra = [json.loads(e) for e in raw["extra"]]
    assert {(e["dimensions"], e["period_seconds"]) for e in extra} == {
        ('{"InstanceId": "i-0aaa"}', "300")
    }
    hourly = pl.read_parquet(tmp_path / "lake" / "clean" / "metrics_hourly" / "2026-01-05.parquet")
    assert hourly.height == 3
    assert hourly["network_io"].to_list() == [12 * 150.0] * 3  # NetworkIn + NetworkOut, summed
    assert hourly["cpu_utilization"].to_list() == pytest.approx([20.0 + 27.5] * 3)
    assert set(hourly["region"]) == {REGION} and set(hourly["service"]) == {"compute"}
