"""AWS Data Exports (FOCUS) from S3 into landing files, one billing period at a time.

An export writes `<prefix>/<export>/data/BILLING_PERIOD=YYYY-MM/` files and a
`metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json` that lists them, and AWS re-delivers
the open period several times a day (and again once it is final). A delivery is recognised by
its manifest's ETag; only the files its manifest lists are read (older chunks of a "create new"
export are ignored), and each day's lines land under one name per export and period,
`cost/<day>/focus-<export>-<period>.parquet`, so a re-delivery replaces and never duplicates.

The bucket is untrusted input: a manifest may only name data files under its own export's
`data/BILLING_PERIOD=<period>/` prefix, a file may not exceed `max_bytes` as stored or once
unzipped (nor unzip more than `MAX_RATIO` times its size: a gzip bomb), and a line whose
charge period starts outside the billing period lands on the period's first day, where
clean quarantines it for lying outside its day. A refused file is named in the report; the
period's other files still land.
"""

from __future__ import annotations

import gzip
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

import polars as pl

from mlplatform.lib.ingest.landing_store import LandingStore
from mlplatform.lib.operations_config import CostExportSource

STATE_NAME = "cost_export"
MAX_RATIO = 200  # a gzipped CSV of cost lines unzips to 5-30 times its size; a bomb to 1000s
CHUNK = 1 << 20
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
    refused: list[str] = field(default_factory=list)  # "<file>: <why>", nothing of it landed


class RefusedDataFile(ValueError):
    """A data file that is not read: outside the export, too large, or a gzip bomb."""


def export_base(source: CostExportSource) -> str:
    return "/".join(p for p in (source.prefix.strip("/"), source.export_name) if p)


def deliveries(client: S3Client, source: CostExportSource) -> list[Delivery]:
    """The latest delivery of every billing period the export has written, oldest first."""
    base = export_base(source)
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


def check_data_key(key: str, source: CostExportSource, billing_period: str) -> None:
    """Refuse a manifest entry outside the export's own data folder for its period (a
    manifest could name any object of the bucket, or another bucket's)."""
    folder = f"{export_base(source)}/data/BILLING_PERIOD={billing_period}/"
    if key.startswith("s3://") or not key.startswith(folder) or "/../" in f"/{key}":
        raise RefusedDataFile(f"not under s3://{source.bucket}/{folder}")


def read_data_file(key: str, data: bytes, max_bytes: int = 2 * 1024**3) -> pl.DataFrame:
    """A Parquet file as delivered, or a (gzipped) CSV with every column as text; unzipped
    in chunks, never past `max_bytes` or `MAX_RATIO` times the stored size."""
    if len(data) > max_bytes:
        raise RefusedDataFile(f"{len(data):,} bytes, over the {max_bytes:,} a file may hold")
    if key.endswith(".parquet"):
        return pl.read_parquet(io.BytesIO(data))
    if key.endswith(".gz"):
        data = _gunzipped(data, min(max_bytes, MAX_RATIO * max(len(data), 1)))
    return pl.read_csv(io.BytesIO(data), infer_schema=False)


def _gunzipped(data: bytes, limit: int) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
        while chunk := stream.read(CHUNK):
            if out.tell() + len(chunk) > limit:
                raise RefusedDataFile(
                    f"unzips past {limit:,} bytes ({len(data):,} stored): a gzip bomb or a file "
                    "too large"
                )
            out.write(chunk)
    return out.getvalue()


def lines_by_day(lines: pl.DataFrame, billing_period: str) -> dict[str, pl.DataFrame]:
    """Each line under the UTC day its charge period starts. A line without a readable start,
    or one outside the billing period (`9999-99-99`), goes to the period's first day, where
    clean quarantines it with the reason: no folder is made from a line's text."""
    start = pl.col("ChargePeriodStart")
    if isinstance(lines.schema.get("ChargePeriodStart"), pl.Datetime):
        day = start.dt.convert_time_zone("UTC").dt.date().cast(pl.String)
    else:
        day = start.cast(pl.String).str.extract(r"^(\d{4}-\d{2}-\d{2})")
    in_period = day.str.to_date("%Y-%m-%d", strict=False).dt.strftime("%Y-%m") == billing_period
    first = pl.lit(f"{billing_period}-01")
    days = lines.with_columns(_day=pl.when(in_period).then(day).otherwise(first))
    return {
        str(key[0]): part.drop("_day") for key, part in days.group_by("_day", maintain_order=True)
    }


def poll(
    source: CostExportSource,
    client: S3Client,
    landing: LandingStore,
    max_bytes: int = 2 * 1024**3,
) -> CostPollReport:
    """Land every billing period whose manifest changed since the last poll. A day the new
    delivery no longer has gets an empty file under the same name, so its old lines go too."""
    state = landing.state(STATE_NAME)
    seen, landed, written, lines, refused = [], [], [], 0, []
    for delivery in deliveries(client, source):
        seen.append(delivery.billing_period)
        before = state.get(delivery.billing_period, {})
        if before.get("etag") == delivery.etag:
            continue
        frames = []
        for key in delivery.data_keys:
            try:
                frames.append(_fetched(client, source, delivery.billing_period, key, max_bytes))
            except RefusedDataFile as exc:
                refused.append(f"s3://{source.bucket}/{key}: {exc}")
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
    return CostPollReport(seen, landed, lines, written, refused)


def _fetched(
    client: S3Client, source: CostExportSource, period: str, key: str, max_bytes: int
) -> pl.DataFrame:
    check_data_key(key, source, period)
    head = client.get_object(Bucket=source.bucket, Key=key)
    if head.get("ContentLength", 0) > max_bytes:  # refused before a byte of it is read
        raise RefusedDataFile(f"{head['ContentLength']:,} bytes, over the {max_bytes:,}")
    return read_data_file(key, head["Body"].read(), max_bytes)


def _key(data_file: str, bucket: str) -> str:
    """A manifest names its files as `s3://bucket/key` or as keys; another bucket's stays a
    full URL, which `check_data_key` refuses."""
    prefix = f"s3://{bucket}/"
    return data_file[len(prefix) :] if data_file.startswith(prefix) else data_file.lstrip("/")
