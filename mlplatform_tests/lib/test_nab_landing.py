"""Real CloudWatch series from NAB through the landing readers and the clean layer."""

from datetime import date
from pathlib import Path

import polars as pl

from mlplatform.lib.cleaning.metrics import clean_metrics
from mlplatform.lib.ingest.catalog import METRICS_OPTIONAL, METRICS_REQUIRED
from mlplatform.lib.ingest.raw import ingest
from mlplatform_tests.conftest import ARRIVED

METRIC_BY_PREFIX = {
    "ec2_cpu_utilization": "CPUUtilization",
    "rds_cpu_utilization": "CPUUtilization",
    "ec2_network_in": "NetworkIn",
    "elb_request_count": "RequestCount",
    "ec2_disk_write_bytes": "DiskWriteBytes",  # outside the catalog: other_metrics_hourly
}


def landing_csv(nab_file: Path, day: str) -> bytes:
    """One NAB file's rows of `day` in the long landing format, as CSV."""
    stem = nab_file.stem
    prefix, _, resource = stem.rpartition("_")
    frame = pl.read_csv(nab_file).filter(pl.col("timestamp").str.starts_with(day))
    return (
        frame.select(
            "timestamp",
            pl.lit(f"i-{resource}").alias("resource_id"),
            pl.lit(METRIC_BY_PREFIX[prefix]).alias("metric_name"),
            "value",
        )
        .write_csv()
        .encode()
    )


def test_nab_dst_repeats_are_deduplicated_with_reasons(nab_dir: Path):
    day = "2014-03-09"  # NAB stamps the skipped 02:00-02:59 samples as 03:00, twelve times
    name = f"metrics/{day}/ec2_network_in_5abac7.csv"
    files = {name: landing_csv(nab_dir / "realAWSCloudwatch" / "ec2_network_in_5abac7.csv", day)}
    raw = ingest([(name, ARRIVED)], files.__getitem__, METRICS_REQUIRED, METRICS_OPTIONAL).raw
    cleaned = clean_metrics(raw, date.fromisoformat(day))
    assert cleaned.accepted_rows + cleaned.quarantine.height == raw.height
    assert cleaned.quarantine.height == 11
    assert cleaned.quarantine["reason"].str.starts_with("duplicate key").all()
    winner_line = cleaned.quarantine["reason"].str.extract(r":(\d+)$").cast(pl.Int64).unique()
    assert winner_line.to_list() == [
        raw.filter(pl.col("timestamp") == f"{day} 03:00:00")["source_line"].max()
    ]
    hourly = cleaned.clean.sort("ts")
    assert hourly["ts"].dt.hour().to_list() == [h for h in range(24) if h != 2]


def test_every_nab_cloudwatch_file_conserves_rows(nab_dir: Path):
    """Each file's second day (its first full one) through ingest and clean."""
    for path in sorted((nab_dir / "realAWSCloudwatch").glob("*.csv")):
        days = pl.read_csv(path)["timestamp"].str.slice(0, 10).unique(maintain_order=True)
        day = days[1]
        name = f"metrics/{day}/{path.name}"
        files = {name: landing_csv(path, day)}
        raw = ingest([(name, ARRIVED)], files.__getitem__, METRICS_REQUIRED, METRICS_OPTIONAL).raw
        cleaned = clean_metrics(raw, date.fromisoformat(day))
        assert raw.height > 200, path.name
        assert cleaned.accepted_rows + cleaned.quarantine.height == raw.height, path.name
        assert cleaned.quarantine.is_empty(), path.name
        kept, empty = cleaned.clean, cleaned.other
        if "disk_write" in path.name:
            kept, empty = empty, kept
            assert kept["metric"].unique().to_list() == ["DiskWriteBytes"]
        assert empty.is_empty(), path.name
        assert kept.height == 24, path.name
        assert kept["source_rows"].sum() == raw.height
