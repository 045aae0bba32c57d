"""The lake read by partition list (for training windows) and the model registry."""

from functools import lru_cache

import dagster as dg
import polars as pl
from dagster_aws.s3 import S3Resource

from mlplatform.lib.registry import Registry
from mlplatform.resources.objectstore import location, read_parquet


class LakeReader(dg.ConfigurableResource):
    """Reads lake partitions directly, for assets that choose their own window of them."""

    base_path: str
    s3: S3Resource | None = None

    def partitions(self, layer: str, name: str) -> list[str]:
        folder = location(self.base_path, self.s3) / layer / name
        if not folder.exists():
            return []
        return sorted(p.stem for p in folder.iterdir() if p.name.endswith(".parquet"))

    def read(self, layer: str, name: str, partition_keys: list[str]) -> pl.DataFrame:
        folder = location(self.base_path, self.s3) / layer / name
        return pl.concat(
            [read_parquet(folder / f"{key}.parquet", self.s3) for key in partition_keys],
            how="diagonal_relaxed",
        )


class ModelRegistry(dg.ConfigurableResource):
    """MLflow tracking/registry URI and where model artifacts go."""

    tracking_uri: str
    artifact_root: str

    def open(self) -> Registry:
        return _registry(self.tracking_uri, self.artifact_root)


@lru_cache(maxsize=4)
def _registry(tracking_uri: str, artifact_root: str) -> Registry:
    """One client per store and process: MLflow checks its schema when a client first connects."""
    return Registry(tracking_uri, artifact_root)
