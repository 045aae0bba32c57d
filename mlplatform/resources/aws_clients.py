"""boto3 clients for the AWS sources, on dagster-aws's boto3 settings."""

from typing import Any

import boto3
from botocore.config import Config
from dagster_aws.utils import ResourceWithBoto3Configuration


class AwsClients(ResourceWithBoto3Configuration):
    """One client per service and region. Retries use botocore's adaptive mode: on
    `Throttling` it backs off exponentially and also slows its own request rate, which
    CloudWatch's per-account `GetMetricData` quota needs when several regions are polled.
    Credentials left unset here come from the standard AWS chain."""

    max_attempts: int = 10

    def client(self, service: str, region: str, endpoint_url: str | None = None) -> Any:
        session = boto3.session.Session(profile_name=self.profile_name)
        return session.client(
            service,
            region_name=region,
            endpoint_url=endpoint_url or self.endpoint_url,
            use_ssl=self.use_ssl,
            verify=self.verify,
            aws_access_key_id=self.aws_access_key_id,
            aws_secret_access_key=self.aws_secret_access_key,
            aws_session_token=self.aws_session_token,
            config=Config(
                retries={"max_attempts": self.max_attempts, "mode": "adaptive"},
                connect_timeout=5,
                read_timeout=60,
            ),
        )
