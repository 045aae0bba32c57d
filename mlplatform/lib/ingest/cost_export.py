"""AWS Data Exports (FOCUS) from S3 into landing files, one billing period at a time.

An export writes `<prefix>/<export>/data/BILLING_PERIOD=YYYY-MM/` files and a
`metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json` that lists them, and AWS re-delivers
the open period several times a day (and again once it is final). A delivery is recognised by
its manifest's ETag; only the files its manifest lists are read (older chunks of a "create new"
export are ignored), and each day's lines land under one name per export and period,
`cost/<day>/focus-<export>-<period>.parquet`, so a re-delivery replaces and never duplicates.
"""

from __future__ import annotations

import gzip
import io
import json
import re
from dataclasses import dataclass
from typing import Any, Protocol

import polars as pl

from mlplatform.lib.ingest.landing_store import LandingStore
from mlplatform.lib.operations_config import CostExportSource

STATE_NAME = "cost_export"
_PERIOD = re.compile(r"BILLING_PERIOD=(\d{4}-\d{2})/[^/]*Manifest\.json$")


class S3Client(Protocol):
    def get_paginator(self, operation_name: str) -> Any: ...
    def get_object(self, **kwargs: Any) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Delivery:
    billing_period: str  # YYYY-MM
    manifest_key: str
    etag: str
    data_keys: list[str]


@dataclass(frozen=True)
class CostPollReport:
    periods_seen: list[str]
    periods_landed: list[str]
    lines: int
    files_written: list[str]


def deliveries(client: S3Client, source: CostExportSource) -> list[Delivery]:
    """The latest delivery of every billing period the export has written, oldest first."""
    base = "/".join(p for p in (source.prefix.strip("/"), source.export_name) if p)
    found = []
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=source.bucket, Prefix=f"{base}/metadata/"
    )
    for page in pages:
        for obj in page.get("Contents", []):
            match = _PERIOD.search(obj["Key"])
            if match:
                found.append((match.group(1), obj["Key"], obj["ETag"].strip('"')))
    result = []
    for period, key, etag in sorted(found):
        manifest = json.loads(client.get_object(Bucket=source.bucket, Key=key)["Body"].read())
        files = manifest.get("dataFiles")
        if not isinstance(files, list):
            raise ValueError(f"s3://{source.bucket}/{key} lists no dataFiles")
        result.append(Delivery(period, key, etag, [_key(f, source.bucket) for f in files]))
    return result


def read_data_file(key: str, data: bytes) -> pl.DataFrame:
    """A Parquet file as delivered, or a (gzipped) CSV with every column as text."""
    if key.endswith(".parquet"):
        return pl.read_parquet(io.BytesIO(data))
    if key.endswith(".gz"):
        data = gzip.decompress(data)
    return pl.read_csv(io.BytesIO(data), infer_schema=False)


def lines_by_day(lines: pl.DataFrame, billing_period: str) -> dict[str, pl.DataFrame]:
    """Each line under the UTC day its charge period starts. A line without a readable start
    goes to the period's first day, where clean quarantines it with the reason."""
    start = pl.col("ChargePeriodStart")
    if isinstance(lines.schema.get("ChargePeriodStart"), pl.Datetime):
        day = start.dt.convert_time_zone("UTC").dt.date().cast(pl.String)
    else:
        day = start.cast(pl.String).str.extract(r"^(\d{4}-\d{2}-\d{2})")
    days = lines.with_columns(_day=pl.coalesce(day, pl.lit(f"{billing_period}-01")))
    return {
        str(key[0]): part.drop("_day") for key, part in days.group_by("_day", maintain_order=True)
    }


def poll(source: CostExportSource, client: S3Client, landing: LandingStore) -> CostPollReport:
    """Land every billing period whose manifest changed since the last poll. A day the new
    delivery no longer has gets an empty file under the same name, so its old lines go too."""
    state = landing.state(STATE_NAME)
    seen, landed, written, lines = [], [], [], 0
    for delivery in deliveries(client, source):
        seen.append(delivery.billing_period)
        before = state.get(delivery.billing_period, {})
        if before.get("etag") == delivery.etag:
            continue
        frames = [
            read_data_file(k, client.get_object(Bucket=source.bucket, Key=k)["Body"].read())
            for k in delivery.data_keys
        ]
        period_lines = pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
        by_day = lines_by_day(period_lines, delivery.billing_period) if frames else {}
        name = f"focus-{source.export_name}-{delivery.billing_period}.parquet"
        empty = period_lines.clear()
        for day in sorted(set(by_day) | set(before.get("days", []))):
            written.append(landing.write_frame("cost", day, name, by_day.get(day, empty)))
        state[delivery.billing_period] = {
            "etag": delivery.etag,
            "manifest": delivery.manifest_key,
            "days": sorted(by_day),
            "lines": period_lines.height,
        }
        landing.save_state(STATE_NAME, state)  # per period: a later failure keeps this one
        landed.append(delivery.billing_period)
        lines += period_lines.height
    return CostPollReport(seen, landed, lines, written)


def _key(data_file: str, bucket: str) -> str:
    """A manifest names its files as `s3://bucket/key` or as keys."""
    prefix = f"s3://{bucket}/"
    return data_file[len(prefix) :] if data_file.startswith(prefix) else data_file.lstrip("/")
