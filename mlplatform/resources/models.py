"""The lake read by partition list (for training windows) and the model registry."""

from functools import lru_cache
from pathlib import Path

import dagster as dg
import polars as pl

from mlplatform.lib.registry import Registry


class LakeReader(dg.ConfigurableResource):
    """Reads lake partitions directly, for assets that choose their own window of them."""

    base_path: str

    def partitions(self, layer: str, name: str) -> list[str]:
        folder = Path(self.base_path) / layer / name
        return sorted(p.stem for p in folder.glob("*.parquet")) if folder.is_dir() else []

    def read(self, layer: str, name: str, partition_keys: list[str]) -> pl.DataFrame:
        folder = Path(self.base_path) / layer / name
        return pl.concat(
            [pl.read_parquet(folder / f"{key}.parquet") for key in partition_keys],
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
