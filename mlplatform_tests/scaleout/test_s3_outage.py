"""The S3 endpoint unavailable: a short outage is ridden out by retries with backoff; a long
one ends in an error that names the endpoint and the object, and nothing half-written."""

import threading
import time

import polars as pl
import pytest
from dagster_aws.s3 import S3Resource

from mlplatform.resources.objectstore import (
    ObjectStoreError,
    location,
    read_parquet,
    write_parquet,
)
from mlplatform_tests.scaleout.conftest import BUCKET, S3Server

pytestmark = [pytest.mark.scaleout, pytest.mark.xdist_group("scaleout")]  # see conftest


def test_short_outage_is_retried_and_a_long_one_fails_clearly(s3_server: S3Server):
    s3 = S3Resource(
        endpoint_url=s3_server.endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )
    path = location(f"s3://{BUCKET}/lake", s3) / "clean" / "metrics_hourly" / "2026-01-01.parquet"
    write_parquet(pl.DataFrame({"v": [1.0]}), path, s3)

    s3_server.stop()
    back = threading.Timer(1.0, s3_server.start)  # back after a second
    back.start()
    started = time.monotonic()
    write_parquet(pl.DataFrame({"v": [2.0]}), path, s3)
    assert time.monotonic() - started >= 0.9  # it did wait for the endpoint
    back.join()
    assert read_parquet(path, s3)["v"].to_list() == [2.0]

    s3_server.stop()  # for good
    with pytest.raises(ObjectStoreError, match=rf"{s3_server.endpoint}.*after 5 attempts"):
        write_parquet(pl.DataFrame({"v": [3.0]}), path, s3)
    with pytest.raises(ObjectStoreError, match=r"could not reach s3://.*2026-01-01.parquet"):
        read_parquet(path, s3)
    s3_server.start()
    assert read_parquet(path, s3)["v"].to_list() == [2.0]  # the failed write changed nothing
