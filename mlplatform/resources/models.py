"""The lake read by partition list (for training windows) and the model registry."""

import time
from functools import lru_cache

import dagster as dg
import polars as pl
from dagster_aws.s3 import S3Resource

from mlplatform.lib.models.registry import Registry
from mlplatform.resources.objectstore import location, polars_options, read_parquet


class LakeReader(dg.ConfigurableResource):
    """Reads lake partitions directly, for assets that choose their own window of them."""

    base_path: str
    s3: S3Resource | None = None

    def partitions(self, layer: str, name: str) -> list[str]:
        folder = location(self.base_path, self.s3) / layer / name
        if not folder.exists():
            return []
        return sorted(p.stem for p in folder.iterdir() if p.name.endswith(".parquet"))

    def tables(self) -> dict[str, list[str]]:
        """`"layer.table": its partition files` for every table with a partition."""
        root = location(self.base_path, self.s3)
        if not root.exists():
            return {}
        tables = {
            f"{layer.name}.{table.name}": [
                str(table / f"{key}.parquet") for key in self.partitions(layer.name, table.name)
            ]
            for layer in root.iterdir()
            if layer.is_dir()
            for table in layer.iterdir()
            if table.is_dir()
        }
        return {name: files for name, files in tables.items() if files}

    def storage_options(self) -> dict | None:
        return polars_options(self.s3) if self.s3 is not None else None

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
    return open_registry(tracking_uri, artifact_root)


def open_registry(tracking_uri: str, artifact_root: str, attempts: int = 4) -> Registry:
    """MLflow creates its tables on first use and is not safe against several processes doing
    it at once (workers starting on an empty database collide on CREATE TABLE); the losers
    wait for the winner and connect again."""
    for attempt in range(attempts):
        try:
            registry = Registry(tracking_uri, artifact_root)
            registry.client.search_experiments(max_results=1)  # forces the schema check
            return registry
        except Exception:
            if attempt == attempts - 1:
                raise
            time.sleep(2.0 * (attempt + 1))
    raise AssertionError("unreachable")
