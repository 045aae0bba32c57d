"""The landing zone under an S3 prefix behaves as the local one: the day's files with their
names relative to the root, hidden objects skipped, bytes read back, newest arrival per day."""

from datetime import date

import boto3
import pytest
from dagster_aws.s3 import S3Resource

from mlplatform.resources.landing import LandingZone
from mlplatform_tests.scaleout.conftest import BUCKET, S3Server

pytestmark = [pytest.mark.scaleout, pytest.mark.xdist_group("scaleout")]  # see conftest


def test_landing_zone_on_s3(s3_server: S3Server):
    client = boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )
    objects = {
        "metrics/2026-01-05/a.csv": b"timestamp,resource_id,metric_name,value\n",
        "metrics/2026-01-05/part/b.jsonl": b"{}\n",
        "metrics/2026-01-05/.upload.tmp": b"partial",
        "cost/2026-01-06/focus.csv": b"x\n",
        "labels/2026-01-05.json": b'{"day": "2026-01-05", "anomalies": []}',
    }
    for key, body in objects.items():
        client.put_object(Bucket=BUCKET, Key=f"prod/landing/{key}", Body=body)
    landing = LandingZone(
        root=f"s3://{BUCKET}/prod/landing",
        s3=S3Resource(
            endpoint_url=s3_server.endpoint,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            region_name="us-east-1",
        ),
    )

    files = landing.files("metrics", date(2026, 1, 5))
    assert [f.name for f in files] == [
        "metrics/2026-01-05/a.csv",
        "metrics/2026-01-05/part/b.jsonl",
    ]
    assert landing.read(files[0]) == objects["metrics/2026-01-05/a.csv"]
    assert files[1].size == 3
    assert landing.files("metrics", date(2026, 1, 6)) == []
    arrivals = landing.latest_arrivals()
    assert sorted(arrivals) == ["2026-01-05", "2026-01-06"]
    assert arrivals["2026-01-05"][1] >= files[0].arrived_at.timestamp() - 1
    assert landing.labels(date(2026, 1, 5)).read_text().startswith('{"day"')
