"""One function per deployment builds every resource; nothing reads the environment at import."""

from pathlib import Path
from typing import Any

from mlplatform.resources.lake import LakeIOManager
from mlplatform.resources.landing import LandingZone
from mlplatform.resources.models import LakeReader, ModelRegistry
from mlplatform.resources.monitoring import MonitoringPolicy, Reports
from mlplatform.resources.warehouse import Warehouse
from mlplatform.settings import data_dir, deployment


def local_resources(root: Path) -> dict[str, Any]:
    """The embedded default: everything in files under `root`."""
    lake = root / "lake"
    warehouse = Warehouse(path=str(root / "warehouse.duckdb"), lake_root=str(lake))
    return {
        "landing": LandingZone(root=str(root / "landing")),
        "lake": LakeIOManager(base_path=str(lake), warehouse=warehouse),
        "warehouse": warehouse,
        "lake_reader": LakeReader(base_path=str(lake)),
        "registry": ModelRegistry(
            tracking_uri=f"sqlite:///{root / 'mlflow.db'}", artifact_root=str(root / "models")
        ),
        "reports": Reports(root=str(root / "reports")),
        "monitoring_policy": MonitoringPolicy(),
    }


def build_resources() -> dict[str, Any]:
    name = deployment()
    if name == "local":
        return local_resources(data_dir())
    raise NotImplementedError(f"deployment {name!r} is not available yet")
