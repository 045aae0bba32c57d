"""CloudWatch `GetMetricData` into landing-file rows, incrementally, one cursor per series.

The client is passed in (built by a resource with botocore's adaptive retry mode, which backs
off on `Throttling`); nothing here creates one. A series' cursor is the end of the last window
asked for it; the next window starts `late` before it, so points CloudWatch publishes late are
read again, and a poll after an outage picks up where the last one ended.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import polars as pl

from mlplatform.lib.ingest.landing_store import LandingStore
from mlplatform.lib.operations_config import CloudWatchMetrics, CloudWatchSource

HOUR = timedelta(hours=1)
MAX_QUERIES_PER_CALL = 500  # GetMetricData's limit on MetricDataQueries
# Landing rows carry the platform's metrics columns; the rest of a point's identity goes to
# `extra` in raw (the readers keep unknown columns there).
LANDING_SCHEMA: dict[str, pl.DataType] = {
    "timestamp": pl.Datetime("us", "UTC"),
    "resource_id": pl.String(),
    "metric_name": pl.String(),
    "value": pl.Float64(),
    "namespace": pl.String(),
    "region": pl.String(),
    "service": pl.String(),
    "stat": pl.String(),
    "period_seconds": pl.Int64(),
    "dimensions": pl.String(),
}
POINT_KEY = ("region", "namespace", "metric_name", "dimensions", "stat", "timestamp")


class CloudWatchClient(Protocol):
    meta: Any

    def get_paginator(self, operation_name: str) -> Any: ...


class RetryCounter:
    """botocore's retry attempts over every call of a client (throttling, transient errors),
    read from each response's metadata through botocore's event hooks."""

    def __init__(self, client: CloudWatchClient) -> None:
        self.count = 0
        client.meta.events.register("after-call.*", self)

    def __call__(self, parsed: dict[str, Any], **_: Any) -> None:
        self.count += parsed.get("ResponseMetadata", {}).get("RetryAttempts", 0)


@dataclass(frozen=True)
class Series:
    """One CloudWatch metric of one resource in one region."""

    region: str
    namespace: str
    metric_name: str
    dimensions: tuple[tuple[str, str], ...]
    resource_id: str
    stat: str
    service: str | None = None

    @property
    def key(self) -> str:
        dims = ",".join(f"{k}={v}" for k, v in self.dimensions)
        return f"{self.region}/{self.namespace}/{self.metric_name}/{dims}/{self.stat}"


@dataclass(frozen=True)
class PullResult:
    rows: pl.DataFrame  # LANDING_SCHEMA
    cursors: dict[str, str]  # series key -> ISO end of the window asked for
    calls: int
    windows: dict[str, tuple[datetime, datetime]]
    empty_series: list[str]  # asked for, no point returned


def configured_series(
    spec: CloudWatchMetrics, region: str, client: CloudWatchClient
) -> list[Series]:
    """The spec's resources, or every one `ListMetrics` reports with exactly the resource
    dimension (series aggregated over other dimensions are a different thing)."""
    if spec.resources:
        found = {(name, rid) for name in spec.names for rid in spec.resources}
    else:
        found = set()
        for name in spec.names:
            pages = client.get_paginator("list_metrics").paginate(
                Namespace=spec.namespace, MetricName=name
            )
            for page in pages:
                for metric in page["Metrics"]:
                    dims = metric.get("Dimensions", [])
                    if len(dims) == 1 and dims[0]["Name"] == spec.resource_dimension:
                        found.add((name, dims[0]["Value"]))
    return [
        Series(
            region=region,
            namespace=spec.namespace,
            metric_name=name,
            dimensions=((spec.resource_dimension, rid),),
            resource_id=rid,
            stat=spec.stat_of(name),
            service=spec.service,
        )
        for name, rid in sorted(found)
    ]


def plan_windows(
    series: Iterable[Series],
    cursors: dict[str, str],
    now: datetime,
    late: timedelta,
    first_poll: timedelta,
    period: timedelta,
) -> dict[str, tuple[datetime, datetime]]:
    """(start, end) per series; end is the last whole hour before `now`. An hour lands once it
    is complete: clean sums a counter's points per hour, and half an hour would read as a drop
    in traffic (a false anomaly, a low forecast)."""
    end = _floor(now, HOUR)
    windows = {}
    for s in series:
        cursor = cursors.get(s.key)
        start = end - first_poll if cursor is None else datetime.fromisoformat(cursor) - late
        start = _floor(max(start, end - first_poll), period)
        if start < end:
            windows[s.key] = (start, end)
    return windows


def pull(
    client: CloudWatchClient,
    series: list[Series],
    windows: dict[str, tuple[datetime, datetime]],
    period_seconds: int,
) -> PullResult:
    """Every point of every planned series, `MAX_QUERIES_PER_CALL` series per call, all pages.
    A call that still fails after botocore's retries raises; no cursor has moved then."""
    by_window: dict[tuple[datetime, datetime], list[Series]] = defaultdict(list)
    for s in series:
        if s.key in windows:
            by_window[windows[s.key]].append(s)
    frames, calls, answered = [_empty()], 0, set()
    for (start, end), group in sorted(by_window.items()):
        for batch in _chunks(group, MAX_QUERIES_PER_CALL):
            queries = [_query(f"q{i}", s, period_seconds) for i, s in enumerate(batch)]
            pages = client.get_paginator("get_metric_data").paginate(
                MetricDataQueries=queries, StartTime=start, EndTime=end, ScanBy="TimestampAscending"
            )
            for page in pages:
                calls += 1
                frames.append(_page_rows(page, batch, period_seconds))
                answered |= {
                    batch[int(r["Id"][1:])].key
                    for r in page.get("MetricDataResults", [])
                    if r.get("Timestamps")
                }
    rows = pl.concat(frames).unique(POINT_KEY, keep="last").sort(POINT_KEY)
    cursors = {key: end.isoformat() for key, (_, end) in windows.items()}
    return PullResult(
        rows=rows,
        cursors=cursors,
        calls=calls,
        windows=windows,
        empty_series=sorted(set(windows) - answered),
    )


def merge_landed(existing: pl.DataFrame | None, new: pl.DataFrame) -> pl.DataFrame:
    """A day file's rows after a poll: a point read again replaces the earlier reading, so a
    re-read window never lands a duplicate."""
    frames = [new] if existing is None else [existing.select(list(LANDING_SCHEMA)), new]
    return pl.concat(frames).unique(POINT_KEY, keep="last", maintain_order=True).sort(POINT_KEY)


def split_by_day(rows: pl.DataFrame) -> Iterator[tuple[str, str, pl.DataFrame]]:
    """(day, region, rows): each point lands in the folder of its own UTC day."""
    with_day = rows.with_columns(_day=pl.col("timestamp").dt.date().cast(pl.String))
    for (day, region), part in with_day.group_by("_day", "region", maintain_order=True):
        yield str(day), str(region), part.drop("_day")


def _query(query_id: str, s: Series, period_seconds: int) -> dict[str, Any]:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": s.namespace,
                "MetricName": s.metric_name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in s.dimensions],
            },
            "Period": period_seconds,
            "Stat": s.stat,
        },
        "ReturnData": True,
    }


def _page_rows(page: dict[str, Any], batch: list[Series], period_seconds: int) -> pl.DataFrame:
    columns: dict[str, list] = {name: [] for name in LANDING_SCHEMA}
    for result in page.get("MetricDataResults", []):
        s = batch[int(result["Id"][1:])]
        stamps, values = result.get("Timestamps", []), result.get("Values", [])
        n = len(stamps)
        columns["timestamp"] += [t.astimezone(UTC) for t in stamps]
        columns["value"] += [float(v) for v in values]
        for name, value in (
            ("resource_id", s.resource_id),
            ("metric_name", s.metric_name),
            ("namespace", s.namespace),
            ("region", s.region),
            ("service", s.service),
            ("stat", s.stat),
            ("period_seconds", period_seconds),
            ("dimensions", json.dumps(dict(s.dimensions), sort_keys=True)),
        ):
            columns[name] += [value] * n
    return pl.DataFrame(columns, schema=LANDING_SCHEMA)


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=LANDING_SCHEMA)


def _chunks(items: list[Series], size: int) -> Iterator[list[Series]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _floor(moment: datetime, period: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + ((moment.astimezone(UTC) - epoch) // period) * period


@dataclass(frozen=True)
class PollReport:
    series: int
    points: int
    calls: int
    retries: int
    files_written: list[str]
    empty_series: list[str]  # asked for, no point returned: a gap, or a resource gone


STATE_NAME = "cloudwatch"


def poll(
    source: CloudWatchSource,
    client_for: Callable[[str], CloudWatchClient],
    landing: LandingStore,
    now: datetime,
) -> PollReport:
    """One poll of every configured region: points into `metrics/<day>/cloudwatch-<region>
    .parquet` (merged with what that file held), then the cursors. Files are written before
    the cursors move, so a crash in between re-reads a window and never loses one."""
    cursors = landing.state(STATE_NAME)
    period = timedelta(seconds=source.period_seconds)
    points = calls = retries = n_series = 0
    written: list[str] = []
    empty: list[str] = []
    for region in source.regions:
        client = client_for(region)
        counter = RetryCounter(client)
        series = [s for spec in source.metrics for s in configured_series(spec, region, client)]
        windows = plan_windows(
            series,
            cursors,
            now,
            late=timedelta(minutes=source.late_data_minutes),
            first_poll=timedelta(hours=source.first_poll_hours),
            period=period,
        )
        result = pull(client, series, windows, source.period_seconds)
        for day, region_name, rows in split_by_day(result.rows):
            name = f"cloudwatch-{region_name}.parquet"
            existing = landing.read_frame("metrics", day, name)
            merged = merge_landed(existing, rows)
            if existing is None or not merged.equals(existing.select(list(LANDING_SCHEMA))):
                written.append(landing.write_frame("metrics", day, name, merged))
        empty += result.empty_series
        cursors.update(result.cursors)
        points += result.rows.height
        calls += result.calls
        retries += counter.count
        n_series += len(series)
    landing.save_state(STATE_NAME, cursors)
    return PollReport(n_series, points, calls, retries, written, empty)
