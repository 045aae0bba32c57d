"""The lake: one Parquet file per asset and partition, written atomically."""

from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
from upath import UPath

from mlplatform.defs.metadata import table_metadata
from mlplatform.lib.atomic import atomic_write
from mlplatform.resources.warehouse import Warehouse


class ParquetLake(dg.UPathIOManager):
    """Polars frames as `<base>/<layer>/<name>/<partition>.parquet`.

    Built on Dagster's UPathIOManager rather than dagster-polars, which breaks on polars 2.
    Several upstream partitions (a lookback window) load as one frame; missing ones are
    skipped where the input allows it. Local writes go to a temporary file renamed into place,
    so a crash mid-write leaves the previous version of the partition readable.
    """

    extension = ".parquet"

    def __init__(self, base_path: UPath, warehouse: Warehouse | None = None) -> None:
        super().__init__(base_path=base_path)
        self._warehouse = warehouse

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
        if path.protocol in ("", "file", "local"):
            atomic_write(Path(path.path), obj.write_parquet)
        else:
            with path.open("wb") as f:
                obj.write_parquet(f)

    def load_from_path(self, context: dg.InputContext, path: UPath) -> pl.DataFrame:
        with path.open("rb") as f:
            return pl.read_parquet(f)

    def load_input(self, context: dg.InputContext) -> Any:
        loaded = super().load_input(context)
        if isinstance(loaded, dict):  # several partitions: one frame, in partition order
            frames = [loaded[k] for k in sorted(loaded)]
            return pl.concat(frames, how="diagonal_relaxed") if frames else None
        return loaded

    def get_metadata(self, context: dg.OutputContext, obj: pl.DataFrame) -> dict[str, Any]:
        return table_metadata(obj)


class LakeIOManager(dg.ConfigurableIOManagerFactory):
    """Where the lake lives: a local folder, or `s3://bucket/prefix` in scale-out."""

    base_path: str
    warehouse: Warehouse | None = None

    def create_io_manager(self, context: dg.InitResourceContext) -> ParquetLake:
        return ParquetLake(base_path=UPath(self.base_path), warehouse=self.warehouse)
