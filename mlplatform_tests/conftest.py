import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

# The tests' simulated days are in January 2026; partitions are read when the code loads.
os.environ.setdefault("MLPLATFORM_PARTITIONS_START", "2026-01-01")

from mlplatform.lib.ingest.simulator import (
    SimulationConfig,
    simulate,
    write_landing_day,
)

NAB_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "nab"
NAB_VALIDATION_DIR = NAB_DIR.with_name("nab-validation")
ARRIVED = datetime(2026, 1, 4, 12, tzinfo=UTC)
pytest_plugins = ["mlplatform_tests.receivers"]  # the alert channels' local receivers


def _beside_the_repo(folder: Path) -> Path:
    """Data beside the repository; a skip where it is absent, never under CI."""
    if not folder.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"NAB data missing at {folder} (it is always there in CI)")
        pytest.skip(f"NAB data not found at {folder}")
    return folder


@pytest.fixture
def nab_dir() -> Path:
    """The 15 development files."""
    return _beside_the_repo(NAB_DIR)


@pytest.fixture
def nab_validation_dir() -> Path:
    """The 24 validation files: scored to check a finished design, never to tune one."""
    return _beside_the_repo(NAB_VALIDATION_DIR)


@pytest.fixture
def landing_root(tmp_path: Path) -> Path:
    """Nine simulated days (2026-01-01 .. 09) of 12 resources under tmp_path/landing."""
    root = tmp_path / "landing"
    config = SimulationConfig(resources=12, seed=5)
    for day in simulate(config, date(2026, 1, 1), 9):
        write_landing_day(day, root, config)
    return root


@pytest.fixture(autouse=True)
def _xdist_group_honoured(request: pytest.FixtureRequest) -> None:
    """Fail a grouped test that pytest-xdist did not keep with its group, rather than let it
    race the others (xdist stopped grouping silently on pytest 9.2: pytest-xdist#1386)."""
    grouped = request.node.get_closest_marker("xdist_group") is not None
    if grouped and getattr(request.config.option, "loadgroup", False):
        assert "@" in request.node.nodeid, f"{request.node.nodeid} lost its xdist_group"
