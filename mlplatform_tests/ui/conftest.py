"""A real Dagster webserver over a temporary instance and data directory, and Chromium."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from mlplatform.definitions import ASSETS
from mlplatform.lib.ingest.simulator import SimulationConfig, simulate, write_landing_day
from mlplatform.resources.build import local_resources

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
XSS_SERVICE = "</script><script>window.__xss=1;alert(document.domain)</script>"
# Drift compares week-over-week ratios, so the reference needs two weeks of partitions.
DAYS = [f"2026-01-{d:02d}" for d in range(1, 18)]
INSTANCE_YAML = """\
run_coordinator:  # runs launched from the UI start at once, without a daemon
  module: dagster.core.run_coordinator
  class: DefaultRunCoordinator
telemetry:
  enabled: false
nux:  # no first-visit dialog over the page under test
  enabled: false
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prepare(home: Path, data: Path) -> None:
    """Simulated days, all but the first materialized; models trained; the last day served and
    monitored, so that the pages have metadata, and one partition is left for the UI."""
    # anomalies on most days, so that the last one has incidents to open
    config = SimulationConfig(resources=8, seed=8, anomaly_rate=0.25)
    for day in simulate(config, date(2026, 1, 1), len(DAYS)):
        write_landing_day(day, data / "landing", config)
    # a landing row whose service is a script, through the real pipeline to the drift report
    hostile = data / "landing" / "metrics" / DAYS[-1] / "hostile.csv"
    hostile.write_text(
        "timestamp,resource_id,metric_name,value,service,region\n"
        f'{DAYS[-1]}T05:00:00Z,i-hostile,CPUUtilization,50,"{XSS_SERVICE}",us-east-1\n'
    )
    instance = dg.DagsterInstance.get()
    resources = local_resources(data)

    def run(selection, partition=None, run_config=None) -> None:
        result = dg.materialize(
            ASSETS,
            selection=selection,
            partition_key=partition,
            resources=resources,
            instance=instance,
            run_config=run_config,
        )
        assert result.success

    layers = dg.AssetSelection.groups("raw", "clean", "features")
    for day in DAYS[1:]:
        run(layers, day)
    quick = {"config": {"min_training_days": 3, "search_trials": 2, "search_timeout_seconds": 20}}
    ops = {
        f"models__{m}": quick for m in ("demand_forecaster", "cost_forecaster", "anomaly_detector")
    }
    run(dg.AssetSelection.groups("models"), run_config=dg.RunConfig(ops=ops))
    run(dg.AssetSelection.groups("serving", "monitoring"), DAYS[-1])


@pytest.fixture(scope="session")
def ui_data(tmp_path_factory) -> Path:
    """The data directory the webserver's deployment reads."""
    return tmp_path_factory.mktemp("ui") / "data"


@pytest.fixture(scope="session")
def webserver(ui_data: Path) -> Iterator[str]:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is missing (.ci/run installs the Debian package)")
        pytest.skip("no /usr/bin/chromium: apt-get install chromium")
    root = ui_data.parent
    home, data = root / "home", ui_data
    home.mkdir()
    (home / "dagster.yaml").write_text(INSTANCE_YAML)
    env = {**os.environ, "DAGSTER_HOME": str(home), "MLPLATFORM_DATA_DIR": str(data)}
    saved = {k: os.environ.get(k) for k in ("DAGSTER_HOME", "MLPLATFORM_DATA_DIR")}
    os.environ.update({"DAGSTER_HOME": str(home), "MLPLATFORM_DATA_DIR": str(data)})
    try:
        _prepare(home, data)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    port = _free_port()
    webserver_bin = Path(sys.executable).with_name("dagster-webserver")
    log = (root / "webserver.log").open("w")
    process = subprocess.Popen(
        [str(webserver_bin), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_assets(url, process)
        yield url
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=30)
        log.close()
        shutil.copy(
            root / "webserver.log", ARTIFACTS / "webserver.log"
        ) if ARTIFACTS.exists() else None


def _wait_for_assets(url: str, process: subprocess.Popen, timeout: float = 90.0) -> None:
    query = b'{"query": "{ assetNodes { id } }"}'
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dagster-webserver exited with {process.returncode}")
        try:
            request = urllib.request.Request(
                f"{url}/graphql", data=query, headers={"content-type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                if b'"assetNodes": [{' in response.read().replace(b'":[', b'": ['):
                    return
        except OSError:
            pass
        time.sleep(1)
    raise TimeoutError(f"the webserver at {url} listed no assets within {timeout:.0f} s")


@pytest.fixture
def page(webserver):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.set_default_timeout(30_000)
        page.base = webserver  # type: ignore[attr-defined]
        yield page
        browser.close()


def open_page(page, path: str) -> None:
    page.goto(page.base + path)
