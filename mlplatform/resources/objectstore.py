"""Where files live: a local folder or an S3 prefix, as one `UPath`, and the options that let
Polars read and write the same objects directly.

S3 settings come from dagster-aws's `S3Resource`; credentials it leaves unset fall back to
the standard AWS chain (environment, profile, instance or task role) in boto3, s3fs and Polars
alike. Every S3 call retries with exponential backoff (botocore's standard mode, Polars'
object store) and then fails naming the endpoint and the object.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
from dagster_aws.s3 import S3Resource
from upath import UPath

from mlplatform.lib.lake.atomic import atomic_write

RETRY_TIMEOUT_SECONDS = 30  # how long Polars keeps retrying one S3 request


def is_remote(base: str) -> bool:
    return "://" in base and not base.startswith("file://")


def fsspec_options(s3: S3Resource) -> dict[str, Any]:
    client = {"endpoint_url": s3.endpoint_url, "region_name": s3.region_name}
    options: dict[str, Any] = {
        "client_kwargs": {k: v for k, v in client.items() if v},
        "config_kwargs": {
            "retries": {"max_attempts": s3.max_attempts, "mode": "standard"},
            "connect_timeout": 5,
        },
        # other processes write partitions: never answer a listing from a stale cache
        "use_listings_cache": False,
        "skip_instance_cache": True,
    }
    if s3.aws_access_key_id:
        options |= {"key": s3.aws_access_key_id, "secret": s3.aws_secret_access_key}
    if s3.aws_session_token:
        options["token"] = s3.aws_session_token
    return options


def polars_options(s3: S3Resource) -> dict[str, Any]:
    options: dict[str, Any] = {
        "aws_region": s3.region_name or "us-east-1",
        "max_retries": s3.max_attempts,
        "retry_timeout_ms": RETRY_TIMEOUT_SECONDS * 1000,
    }
    if s3.endpoint_url:
        options["aws_endpoint_url"] = s3.endpoint_url
        if s3.endpoint_url.startswith("http://"):
            options["aws_allow_http"] = "true"
    if s3.aws_access_key_id:
        options |= {
            "aws_access_key_id": s3.aws_access_key_id,
            "aws_secret_access_key": s3.aws_secret_access_key,
        }
    if s3.aws_session_token:
        options["aws_session_token"] = s3.aws_session_token
    return options


def location(base: str, s3: S3Resource | None) -> UPath:
    """`base` as a path object: a local folder, or `s3://bucket/prefix` through `s3`."""
    if not is_remote(base):
        return UPath(base)
    if s3 is None:
        raise ValueError(f"{base} is remote but no S3 settings were given")
    return UPath(base, **fsspec_options(s3))


class ObjectStoreError(RuntimeError):
    """An object could not be read or written after the retries."""


def describe_failure(action: str, path: UPath, s3: S3Resource, exc: Exception) -> str:
    where = s3.endpoint_url or "AWS S3"
    return (
        f"could not {action} {path} at {where} after {s3.max_attempts} attempts with backoff: {exc}"
    )


def write_parquet(frame: pl.DataFrame, path: UPath, s3: S3Resource | None) -> None:
    """Locally: a temporary file renamed over the target. On S3: one object, which replaces
    the previous version only once complete. Either way readers never see half a file."""
    if s3 is None:
        atomic_write(Path(path.path), frame.write_parquet)
        return
    try:
        frame.write_parquet(str(path), storage_options=polars_options(s3))
    except OSError as exc:
        raise ObjectStoreError(describe_failure("write", path, s3, exc)) from exc


def read_parquet(path: UPath, s3: S3Resource | None) -> pl.DataFrame:
    if s3 is None:
        return pl.read_parquet(path.path)
    try:
        found = path.exists()
    except Exception as exc:  # botocore's own errors, raised after its retries
        raise ObjectStoreError(describe_failure("reach", path, s3, exc)) from exc
    if not found:  # the IO manager skips missing lookback partitions on this
        raise FileNotFoundError(f"no object at {path}")
    try:
        return pl.read_parquet(str(path), storage_options=polars_options(s3))
    except OSError as exc:
        raise ObjectStoreError(describe_failure("read", path, s3, exc)) from exc


def read_json(path: UPath) -> dict[str, Any]:
    """A small state file, or {} where there is none yet."""
    return json.loads(path.read_text()) if path.exists() else {}


def write_json(path: UPath, data: dict[str, Any], s3: S3Resource | None) -> None:
    """Locally renamed over the old file; on S3 one PUT. Readers see the old or the new."""
    text = json.dumps(data, indent=1, sort_keys=True)
    if s3 is None:
        atomic_write(Path(path.path), lambda tmp: tmp.write_text(text))
    else:
        path.write_text(text)
