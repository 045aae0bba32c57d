"""The FOCUS cost export source against moto's S3 on loopback: the Data Exports layout,
Parquet and gzipped CSV, a re-delivered billing period, throttling, and on into clean."""

import gzip
import io
import json
import uuid
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from mlplatform.definitions import ASSETS
from mlplatform.lib.ingest import cost_export
from mlplatform.lib.ingest.catalog import COST_REQUIRED
from mlplatform.lib.ingest.simulator import SimulationConfig, simulate
from mlplatform.lib.operations_config import CostExportSource
from mlplatform.resources.aws_clients import AwsClients
from mlplatform.resources.build import local_resources
from mlplatform_tests.conftest import ARRIVED
from mlplatform_tests.sources.conftest import REGION, ThrottlingProxy, aws_client

BUCKET = "billing"
EXPORT = "focus-daily"


def _lines(days: int, start: date = date(2026, 1, 1)) -> pl.DataFrame:
    config = SimulationConfig(resources=4, seed=3)
    return pl.concat([d.cost for d in simulate(config, start, days)])


def _deliver(client, period: str, files: dict[str, bytes]) -> None:
    """What AWS writes: the data files, then the manifest that lists them."""
    base = f"exports/{EXPORT}"
    keys = []
    for name, body in files.items():
        key = f"{base}/data/BILLING_PERIOD={period}/{name}"
        client.put_object(Bucket=BUCKET, Key=key, Body=body)
        keys.append(f"s3://{BUCKET}/{key}")
    manifest = {
        "exportName": EXPORT,
        "billingPeriod": period,
        "executionId": uuid.uuid4().hex,  # each delivery's own, so its manifest differs
        "dataFiles": keys,
    }
    client.put_object(
        Bucket=BUCKET,
        Key=f"{base}/metadata/BILLING_PERIOD={period}/{EXPORT}-Manifest.json",
        Body=json.dumps(manifest).encode(),
    )


def _parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def _csv_gz(frame: pl.DataFrame) -> bytes:
    return gzip.compress(frame.write_csv().encode())


def _source(endpoint: str) -> CostExportSource:
    return CostExportSource(
        bucket=BUCKET, prefix="exports", export_name=EXPORT, endpoint_url=endpoint, region=REGION
    )


def _landed(root: Path) -> pl.DataFrame:
    files = sorted((root / "landing" / "cost").glob("*/focus-*.parquet"))
    return pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")


@pytest.fixture
def s3(aws_endpoint: str):
    client = aws_client("s3", aws_endpoint)
    client.create_bucket(Bucket=BUCKET)
    return client


def _client(endpoint: str):
    aws = AwsClients(aws_access_key_id="test", aws_secret_access_key="test")
    return aws.client("s3", REGION, endpoint)


def test_lines_land_by_day_and_a_redelivery_replaces_them(
    s3, throttling_proxy: ThrottlingProxy, tmp_path: Path
):
    landing = local_resources(tmp_path)["landing"]
    source = _source(throttling_proxy.endpoint)
    client = _client(throttling_proxy.endpoint)
    december = _lines(2, date(2025, 12, 30))
    january = _lines(3)
    _deliver(s3, "2025-12", {f"{EXPORT}-00001.csv.gz": _csv_gz(december)})
    half = january.height // 2  # a period delivered in two chunks
    _deliver(
        s3,
        "2026-01",
        {
            f"{EXPORT}-00001.snappy.parquet": _parquet(january[:half]),
            f"{EXPORT}-00002.snappy.parquet": _parquet(january[half:]),
        },
    )
    throttling_proxy.throttle_next(2)
    first = cost_export.poll(source, client, landing)
    assert throttling_proxy.throttled == 2  # S3 answered SlowDown; botocore retried
    assert first.periods_landed == ["2025-12", "2026-01"]
    assert first.lines == december.height + january.height
    folders = sorted(p.name for p in (tmp_path / "landing" / "cost").iterdir())
    assert folders == ["2025-12-30", "2025-12-31", "2026-01-01", "2026-01-02", "2026-01-03"]
    assert _landed(tmp_path).height == december.height + january.height

    # AWS re-delivers January: corrected costs, and the 3rd's lines gone
    corrected = january.filter(~pl.col("ChargePeriodStart").str.starts_with("2026-01-03"))
    corrected = corrected.with_columns(BilledCost=pl.lit(1.25))
    _deliver(s3, "2026-01", {f"{EXPORT}-00001.snappy.parquet": _parquet(corrected)})
    second = cost_export.poll(source, client, landing)
    assert second.periods_landed == ["2026-01"]  # December's manifest did not change
    landed = _landed(tmp_path)
    january_landed = landed.filter(pl.col("ChargePeriodStart").str.starts_with("2026-01"))
    assert january_landed.height == corrected.height  # replaced, not added
    assert january_landed["BilledCost"].cast(pl.Float64).unique().to_list() == [1.25]
    third_day = pl.read_parquet(next((tmp_path / "landing/cost/2026-01-03").glob("focus-*")))
    assert third_day.is_empty()  # emptied under the same name, so raw re-reads the day

    assert cost_export.poll(source, client, landing).files_written == []


def test_a_redelivered_day_is_costed_once_in_clean(s3, aws_endpoint: str, tmp_path: Path):
    resources = local_resources(tmp_path)
    january = _lines(2)
    source, client = _source(aws_endpoint), _client(aws_endpoint)
    _deliver(s3, "2026-01", {f"{EXPORT}-00001.snappy.parquet": _parquet(january)})
    cost_export.poll(source, client, resources["landing"])
    # the same lines delivered again: a new execution of the export, nothing changed in them
    _deliver(s3, "2026-01", {f"{EXPORT}-00001.snappy.parquet": _parquet(january)})
    assert cost_export.poll(source, client, resources["landing"]).periods_landed == ["2026-01"]
    result = dg.materialize(
        ASSETS,
        selection=dg.AssetSelection.groups("raw", "clean"),
        partition_key="2026-01-02",
        resources=resources,
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    daily = pl.read_parquet(tmp_path / "lake" / "clean" / "cost_daily" / "2026-01-02.parquet")
    expected = (
        january.filter(pl.col("ChargePeriodStart").str.starts_with("2026-01-02"))
        .select(pl.col("BilledCost").cast(pl.Float64).sum())
        .item()
    )
    assert daily["billed_cost"].sum() == pytest.approx(expected)
    raw = pl.read_parquet(tmp_path / "lake" / "raw" / "cost_usage" / "2026-01-02.parquet")
    assert set(raw["source_file"]) == {f"cost/2026-01-02/focus-{EXPORT}-2026-01.parquet"}


def test_a_hostile_export_lands_nothing_it_should_not(s3, aws_endpoint: str, tmp_path: Path):
    """A manifest naming a key outside the export, a gzip bomb, and lines dated outside the
    billing period: each refused or sent to quarantine, and the honest file still lands."""
    landing = local_resources(tmp_path)["landing"]
    source, client = _source(aws_endpoint), _client(aws_endpoint)
    s3.put_object(Bucket=BUCKET, Key="secrets/payroll.csv", Body=b"ChargePeriodStart\nx\n")
    lines = _lines(2).with_columns(
        ChargePeriodStart=pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit("9999-99-99T00:00:00Z"))
        .when(pl.int_range(pl.len()) == 1)
        .then(pl.lit("2026-02-14T00:00:00Z"))
        .otherwise(pl.col("ChargePeriodStart"))
    )
    bomb = gzip.compress(b"0" * (40 * 1024 * 1024))  # 40 MiB of zeros in about 40 KiB
    _deliver(
        s3,
        "2026-01",
        {f"{EXPORT}-00001.snappy.parquet": _parquet(lines), f"{EXPORT}-00002.csv.gz": bomb},
    )
    manifest_key = f"exports/{EXPORT}/metadata/BILLING_PERIOD=2026-01/{EXPORT}-Manifest.json"
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=manifest_key)["Body"].read())
    manifest["dataFiles"] += ["secrets/payroll.csv", f"exports/{EXPORT}/data/../../secrets/x"]
    s3.put_object(Bucket=BUCKET, Key=manifest_key, Body=json.dumps(manifest).encode())

    report = cost_export.poll(source, client, landing)
    refused = "\n".join(report.refused)
    assert len(report.refused) == 3, refused
    assert "secrets/payroll.csv: not under" in refused
    assert "00002.csv.gz: unzips past" in refused and "gzip bomb" in refused
    # no folder made from a line's text: the strays land on the period's first day
    folders = sorted(p.name for p in (tmp_path / "landing" / "cost").iterdir())
    assert folders == ["2026-01-01", "2026-01-02"]
    first = pl.read_parquet(next((tmp_path / "landing/cost/2026-01-01").glob("focus-*")))
    assert {"9999-99-99T00:00:00Z", "2026-02-14T00:00:00Z"} <= set(first["ChargePeriodStart"])
    assert report.lines == lines.height


def test_lines_outside_the_billing_period_are_quarantined_by_clean():
    from mlplatform.lib.cleaning.cost import clean_cost
    from mlplatform.lib.ingest.raw import ingest

    lines = _lines(1).head(2).with_columns(ChargePeriodStart=pl.lit("2026-02-14T00:00:00Z"))
    [(day, stray)] = cost_export.lines_by_day(lines, "2026-01").items()
    assert day == "2026-01-01"
    name = f"cost/{day}/focus.csv"
    raw = ingest([(name, ARRIVED)], {name: stray.write_csv().encode()}.__getitem__, COST_REQUIRED)
    cleaned = clean_cost(raw.raw, date(2026, 1, 1))
    assert cleaned.quarantine.height == 2 and cleaned.clean.is_empty()
