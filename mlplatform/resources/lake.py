"""The lake: one Parquet file per asset and partition, written atomically."""

from typing import Any

import dagster as dg
import polars as pl
from dagster_aws.s3 import S3Resource
from upath import UPath

from mlplatform.defs.metadata import table_metadata
from mlplatform.resources.objectstore import location, read_parquet, write_parquet
from mlplatform.resources.warehouse import Warehouse


class ParquetLake(dg.UPathIOManager):
    """Polars frames as `<base>/<layer>/<name>/<partition>.parquet`.

    Built on Dagster's UPathIOManager rather than dagster-polars, which breaks on polars 2.
    Several upstream partitions (a lookback window) load as one frame; missing ones are
    skipped where the input allows it. Local writes go to a temporary file renamed into place,
    so a crash mid-write leaves the previous version of the partition readable; on S3, Polars
    writes the object directly, and an object only replaces the previous one once complete.
    """

    extension = ".parquet"

    def __init__(
        self, base_path: UPath, warehouse: Warehouse | None = None, s3: S3Resource | None = None
    ) -> None:
        super().__init__(base_path=base_path)
        self._warehouse = warehouse
        self._s3 = s3

    def handle_output(self, context: dg.OutputContext, obj: pl.DataFrame) -> None:
        super().handle_output(context, obj)
        if self._warehouse is not None and len(context.asset_key.path) == 2:
            layer, name = context.asset_key.path
            outcome = self._warehouse.ensure_view(layer, name)
            if outcome.startswith("skipped"):
                context.log.warning(f"warehouse view {layer}.{name} {outcome}")

    def dump_to_path(self, context: dg.OutputContext, obj: pl.DataFrame, path: UPath) -> None:
        if not isinstance(obj, pl.DataFrame):
            raise TypeError(
                f"{context.asset_key.to_user_string()}: expected a polars DataFrame, "
                f"got {type(obj).__name__}"
            )
        write_parquet(obj, path, self._s3)

    def load_from_path(self, context: dg.InputContext, path: UPath) -> pl.DataFrame:
        return read_parquet(path, self._s3)

    def load_input(self, context: dg.InputContext) -> Any:
        loaded = super().load_input(context)
        if isinstance(loaded, dict):  # several partitions: one frame, in partition order
            frames = [loaded[k] for k in sorted(loaded)]
            return pl.concat(frames, how="diagonal_relaxed") if frames else None
        return loaded

    def get_metadata(self, context: dg.OutputContext, obj: pl.DataFrame) -> dict[str, Any]:
        return table_metadata(obj)


class LakeIOManager(dg.ConfigurableIOManagerFactory):
    """Where the lake lives: a local folder, or `s3://bucket/prefix` (with `s3`) in scale-out."""

    base_path: str
    warehouse: Warehouse | None = None
    s3: S3Resource | None = None

    def create_io_manager(self, context: dg.InitResourceContext) -> ParquetLake:
        return ParquetLake(
            base_path=location(self.base_path, self.s3), warehouse=self.warehouse, s3=self.s3
        )
