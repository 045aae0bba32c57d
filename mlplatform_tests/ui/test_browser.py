"""The Dagster UI as an analyst uses it, in a real Chromium."""

import json
import re
import time
import urllib.request

import polars as pl
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from mlplatform.lib.lake.columns import describe_column
from mlplatform_tests.ui.conftest import ARTIFACTS, DAYS, open_page

ASSET_KEYS = [
    "raw / cloudwatch_metrics",
    "raw / cost_usage",
    "clean / metrics_hourly",
    "clean / other_metrics_hourly",
    "clean / cost_daily",
    "clean / quarantine",
    "features / resource_hourly",
    "features / cost_daily",
    "models / demand_forecaster",
    "models / cost_forecaster",
    "models / anomaly_detector",
    "serving / demand_forecasts",
    "serving / cost_forecasts",
    "serving / anomaly_alerts",
    "serving / anomaly_incidents",
    "serving / cost_recommendations",
    "monitoring / feature_drift",
    "monitoring / model_performance",
]

# on one xdist worker: they share one session's webserver
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]


def wait_for_texts(page, *texts: str) -> None:
    """Every text in the page's rendered text. The sections of an asset page load one after
    another, so a text read from the body right after another one appeared may not be there
    yet: wait until all are, and name the ones that never came."""
    every = "texts => texts.every(t => document.body.innerText.includes(t))"
    try:
        page.wait_for_function(every, arg=list(texts))
    except PlaywrightTimeoutError:
        body = page.inner_text("body")
        pytest.fail(f"never shown: {[t for t in texts if t not in body]}")


def test_catalog_and_lineage_show_every_asset(page):
    open_page(page, "/assets")
    wait_for_texts(page, *ASSET_KEYS)
    page.screenshot(path=str(ARTIFACTS / "catalog.png"), full_page=True)
    open_page(page, "/asset-groups")
    for group in ("raw", "clean", "features", "models", "serving", "monitoring"):
        page.get_by_text(group, exact=True).first.wait_for()
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ARTIFACTS / "lineage.png"))


def test_asset_page_shows_metadata(page):
    open_page(page, "/assets/clean/metrics_hourly")
    wait_for_texts(
        page,
        "quarantined_rows",
        "Row count",
        "192",
        "accepted_rows",
        "preview",
        "ml-platform",
        "Pandera",
        "source_rows",
        describe_column("clean.metrics_hourly", "source_rows"),  # the columns say what they are
    )
    page.screenshot(path=str(ARTIFACTS / "asset_page.png"), full_page=True)
    open_page(page, "/assets/models/demand_forecaster")
    # the promotion decision and the figure it rests on, whichever way it went
    wait_for_texts(page, "registry_version", "promotion_reason", "mae_relative_to_naive_fallback")


def test_materialize_a_partition_by_clicking(page):
    partition = DAYS[0]  # the one day nothing materialized yet
    open_page(page, "/assets/raw/cloudwatch_metrics")
    page.get_by_role("button", name="Materialize…").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Show all partitions").click()
    box = dialog.locator("input").first
    box.fill(partition)
    box.press("Enter")
    dialog.get_by_role("button", name="Launch 1 run").click()
    run_id = _wait_for_run(page.base, partition)
    assert _final_status(page.base, run_id) == "SUCCESS"
    open_page(page, f"/runs/{run_id}")
    page.get_by_text("Success").first.wait_for()
    page.get_by_text("RUN_SUCCESS").first.wait_for()
    page.screenshot(path=str(ARTIFACTS / "run_success.png"))
    open_page(page, "/assets/raw/cloudwatch_metrics?view=partitions")
    page.wait_for_timeout(1500)


def _graphql(base: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{base}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["data"]


def _runs(base: str) -> list[dict]:
    data = _graphql(
        base,
        "{ runsOrError(limit: 50) { ... on Runs { results { runId status "
        "tags { key value } } } } }",
    )
    return data["runsOrError"]["results"]


def _wait_for_run(base: str, partition: str, timeout: float = 30.0) -> str:
    """The id of the run the click launched: the one tagged with the partition."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in _runs(base):
            tags = {t["key"]: t["value"] for t in run["tags"]}
            if tags.get("dagster/partition") == partition:
                return run["runId"]
        time.sleep(0.5)
    raise TimeoutError(f"no run for partition {partition} was launched")


def _final_status(base: str, run_id: str, timeout: float = 180.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = next(r["status"] for r in _runs(base) if r["runId"] == run_id)
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            return status
        time.sleep(1)
    raise TimeoutError(f"run {run_id} did not finish within {timeout:.0f} s")


def test_an_incident_shows_its_severity_series_and_first_mover(page, ui_data):
    day = DAYS[-1]
    incidents = pl.read_parquet(
        ui_data / "lake" / "serving" / "anomaly_incidents" / f"{day}.parquet"
    )
    assert incidents.height, "the UI's last simulated day has anomalies: it must have incidents"
    worst = incidents.row(0, named=True)
    open_page(page, "/assets/serving/anomaly_incidents")
    wait_for_texts(
        page,
        "most_severe",
        "first mover",
        worst["severity"],
        worst["first_mover"],
        worst["series"][0],
        describe_column("serving.anomaly_incidents", "first_mover"),
    )
    page.screenshot(path=str(ARTIFACTS / "incidents.png"), full_page=True)
    # each incident links to its day's partition
    link = page.locator(f"a[href*='anomaly_incidents?partition={day}']").first
    link.click()
    page.wait_for_url(re.compile(f"partition={day}"))
    wait_for_texts(page, day)
    page.screenshot(path=str(ARTIFACTS / "incident_partition.png"), full_page=True)


def test_drift_report_link_opens(page, ui_data):
    # the landed row whose service is a script: quarantined with its reason at clean
    quarantine = pl.read_parquet(ui_data / "lake" / "clean" / "quarantine" / f"{DAYS[-1]}.parquet")
    hostile = quarantine.filter(pl.col("source_file").str.ends_with("hostile.csv"))
    assert hostile["column"].to_list() == ["service"], hostile
    assert hostile["reason"][0].startswith("not an identifier")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_page(page, "/assets/monitoring/feature_drift")
    link = page.locator("a[href^='file://']").first
    link.wait_for(state="attached")
    href = link.get_attribute("href")
    assert href and re.search(r"reports/feature_drift/\d{4}-\d{2}-\d{2}\.html$", href)
    page.screenshot(path=str(ARTIFACTS / "drift_asset.png"), full_page=True)
    page.goto(href)
    # Evidently's self-contained report renders the compared columns and their drift
    wait_for_texts(page, "network_io_mean_24h")
    assert "drift" in page.inner_text("body").lower()
    page.screenshot(path=str(ARTIFACTS / "drift_report.png"))
    # nothing the payload would run ran: no dialog, no marker
    assert dialogs == [] and page.evaluate("window.__xss") is None
