"""The lake: one Parquet file per asset and partition, written atomically."""

from collections.abc import Mapping
from typing import Any, get_origin

import dagster as dg
import polars as pl
from dagster_aws.s3 import S3Resource
from upath import UPath

from mlplatform.defs.metadata import range_metadata, table_metadata
from mlplatform.resources.objectstore import location, read_parquet, write_parquet
from mlplatform.resources.warehouse import Warehouse


class ParquetLake(dg.UPathIOManager):
    """Polars frames as `<base>/<layer>/<name>/<partition>.parquet`.

    Built on Dagster's UPathIOManager rather than dagster-polars, which breaks on polars 2.
    A run may cover several partitions (the assets' backfill policy): its output is then a
    mapping of partition key to frame, each written to its own file. Several upstream
    partitions (a lookback window, a run's range) load as one frame, or as such a mapping where
    the input is typed `dict`; missing ones are skipped where the input allows it.

    Local writes go to a temporary file renamed into place, so a crash mid-write leaves the
    previous version of the partition readable; on S3, Polars writes the object directly, and
    an object only replaces the previous one once complete.
    """

    extension = ".parquet"

    def __init__(
        self, base_path: UPath, warehouse: Warehouse | None = None, s3: S3Resource | None = None
    ) -> None:
        super().__init__(base_path=base_path)
        self._root = base_path
        self._warehouse = warehouse
        self._s3 = s3

    def handle_output(
        self, context: dg.OutputContext, obj: pl.DataFrame | Mapping[str, pl.DataFrame]
    ) -> None:
        if isinstance(obj, Mapping):
            self._write_partitions(context, obj)
        else:
            super().handle_output(context, obj)
        if self._warehouse is not None and len(context.asset_key.path) == 2:
            layer, name = context.asset_key.path
            outcome = self._warehouse.ensure_view(layer, name)
            if outcome.startswith("skipped"):
                context.log.warning(f"warehouse view {layer}.{name} {outcome}")

    def _write_partitions(
        self, context: dg.OutputContext, frames: Mapping[str, pl.DataFrame]
    ) -> None:
        expected = list(context.asset_partition_keys) if context.has_asset_partitions else []
        if sorted(frames) != sorted(expected):
            raise ValueError(
                f"{context.asset_key.to_user_string()}: the output holds partitions "
                f"{sorted(frames)}, the run is for {expected}"
            )
        folder = self._root / self.get_asset_relative_path(context)
        self.make_directory(folder)
        for key in expected:
            path = self.get_path_for_partition(context, folder, key)
            self.dump_to_path(context, frames[key], path.with_name(path.name + self.extension))
        context.add_output_metadata(self.get_metadata(context, frames))

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
        if get_origin(context.dagster_type.typing_type) is dict or (
            context.dagster_type.typing_type is dict
        ):  # one frame per partition, by key
            if isinstance(loaded, pl.DataFrame):
                return {context.asset_partition_keys[0]: loaded}
            return loaded or {}
        if isinstance(loaded, dict):  # several partitions: one frame, in partition order
            frames = [loaded[k] for k in sorted(loaded)]
            return pl.concat(frames, how="diagonal_relaxed") if frames else None
        return loaded

    def get_metadata(
        self, context: dg.OutputContext, obj: pl.DataFrame | Mapping[str, pl.DataFrame]
    ) -> dict[str, Any]:
        key = context.asset_key
        if not isinstance(obj, Mapping):
            return table_metadata(obj, key)
        if len(obj) == 1:
            return table_metadata(next(iter(obj.values())), key)
        return range_metadata(obj, key)


class LakeIOManager(dg.ConfigurableIOManagerFactory):
    """Where the lake lives: a local folder, or `s3://bucket/prefix` (with `s3`) in scale-out."""

    base_path: str
    warehouse: Warehouse | None = None
    s3: S3Resource | None = None

    def create_io_manager(self, context: dg.InitResourceContext) -> ParquetLake:
        return ParquetLake(
            base_path=location(self.base_path, self.s3), warehouse=self.warehouse, s3=self.s3
        )
