"""One delivery scenario, run tick by tick against any instance the project ships: alerts,
a failing check and failed runs reach the local receivers once, and a run the instance will
retry is not announced."""

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl

from mlplatform.automation.delivery import LEDGER, build_alert_delivery_sensor
from mlplatform.defs.keys import ANOMALY_INCIDENTS, FEATURE_DRIFT
from mlplatform.lib.operations_config import OperationsConfig
from mlplatform.lib.serving.incidents import incidents
from mlplatform.resources.build import local_resources
from mlplatform_tests.receivers import HttpReceiver, SmtpReceiver

# recent days: alerts older than max_alert_age_hours (48) are not news
TODAY = datetime.now(UTC).date()
DAY, NEXT_DAY = (TODAY - timedelta(days=1)).isoformat(), TODAY.isoformat()
DRIFTED = "62% of the compared columns drifted"


def channels_config(http: HttpReceiver, smtp: SmtpReceiver) -> dict:
    return {
        "alerts": {
            "ui_url": "http://127.0.0.1:3000",
            "channels": [
                {"kind": "slack", "webhook_url_env": "TEST_SLACK_URL"},
                {
                    "kind": "email",
                    "host": smtp.host,
                    "port": smtp.port,
                    "starttls": False,
                    "sender": "mlplatform@example.com",
                    "recipients": ["oncall@example.com"],
                },
                {"kind": "webhook", "url_env": "TEST_EVENTS_URL", "routing_key_env": "TEST_KEY"},
            ],
        }
    }


def channel_variables(http: HttpReceiver) -> dict[str, str]:
    return {
        "TEST_SLACK_URL": f"{http.url}/slack",
        "TEST_EVENTS_URL": f"{http.url}/events",
        "TEST_KEY": "R0UT1NG",
    }


def land_incidents(data: Path, day: str, hours: list[int]) -> list[str]:
    """serving/anomaly_incidents of `day` from one clear memory alert per hour, each on its
    own resource (so each its own incident); returns their notice keys."""
    resources = [f"i-{h:02d}" for h in hours]
    alerts = pl.DataFrame(
        {
            "resource_id": resources,
            "metric": "memory_utilization",
            "ts": [datetime.fromisoformat(f"{day}T{h:02d}:00:00+00:00") for h in hours],
            "value": 99.0,
            "anomaly_score": 0.999,
            "signal": "residual",
        }
    )
    groups = pl.DataFrame({"resource_id": resources, "service": "EC2", "region": "us-east-1"})
    table = incidents(alerts, groups)
    folder = data / "lake" / "serving" / "anomaly_incidents"
    folder.mkdir(parents=True, exist_ok=True)
    table.write_parquet(folder / f"{day}.parquet")
    return [f"incident:{i}" for i in table["incident_id"]]


def materialized(instance: dg.DagsterInstance, data: Path, day: str, hours: list[int]) -> list[str]:
    """serving/anomaly_incidents of `day` as a run leaves it: its file, then its event."""
    keys = land_incidents(data, day, hours)
    instance.report_runless_asset_event(dg.AssetMaterialization(ANOMALY_INCIDENTS, partition=day))
    return keys


def slack_lines(http: HttpReceiver) -> list[str]:
    return [
        line
        for body in http.received()
        if body["path"] == "/slack"
        for line in body["text"].splitlines()
        if line.startswith("- ")
    ]


@dg.asset(key=FEATURE_DRIFT)
def _drift_report() -> None:
    pass


@dg.asset_check(asset=_drift_report, name="feature_drift_check")
def _drift_check() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=False, severity=dg.AssetCheckSeverity.ERROR, description=DRIFTED
    )


@dg.asset
def _failing() -> None:
    raise ValueError("the source was unreachable")


def failing_check_run(instance: dg.DagsterInstance) -> str:
    """A run whose check fails, as monitoring's runs record one: in the run's own event log."""
    return dg.materialize([_drift_report, _drift_check], instance=instance).run_id


def failed_run(instance: dg.DagsterInstance, will_retry: bool = False) -> str:
    result = dg.materialize([_failing], instance=instance, raise_on_error=False)
    assert instance.get_run_by_id(result.run_id).tags["dagster/will_retry"] == "false"
    if will_retry:  # what the instance writes on a run cut short by a stopped daemon
        instance.add_run_tags(result.run_id, {"dagster/will_retry": "true"})
    return result.run_id


def sensor_ticks(
    instance: dg.DagsterInstance, data: Path, http: HttpReceiver, smtp: SmtpReceiver, **settings
) -> Callable[[str | None], str | None]:
    """One tick of the delivery sensor on `instance` per call: cursor in, cursor out."""
    document = channels_config(http, smtp)
    document["alerts"] |= settings
    sensor = build_alert_delivery_sensor(OperationsConfig.model_validate(document).alerts, 30)
    resources = local_resources(data)

    def tick(cursor: str | None) -> str | None:
        with dg.build_sensor_context(
            instance=instance,
            cursor=cursor,
            resources={k: resources[k] for k in ("lake_reader", "reports")},
        ) as context:
            sensor(context)
            return context.cursor

    return tick


def deliver_tick_by_tick(
    instance: dg.DagsterInstance, data: Path, http: HttpReceiver, smtp: SmtpReceiver
) -> None:
    tick = sensor_ticks(instance, data, http, smtp)
    materialized(instance, data, DAY, [3, 4])
    cursor = tick(None)
    assert len(slack_lines(http)) == 2
    assert len(smtp.messages) == 1
    [event] = [b for b in http.received() if b["path"] == "/events"]
    assert event["routing_key"] == "R0UT1NG"
    assert len(event["payload"]["custom_details"]["notices"]) == 2

    materialized(instance, data, DAY, [3, 4])  # a re-run of the same day
    failing_check_run(instance)
    cursor = tick(cursor)
    lines = slack_lines(http)
    assert len(lines) == 3, lines  # only the check is new
    assert f"monitoring/feature_drift check feature_drift_check failed: {DRIFTED}" in lines[-1]

    retried = failed_run(instance, will_retry=True)
    final = failed_run(instance)
    cursor = tick(cursor)
    links = [link["href"] for b in http.received() if b["path"] == "/events" for link in b["links"]]
    assert any(f"/runs/{final}" in link for link in links)
    assert not any(f"/runs/{retried}" in link for link in links), "a retried run is no news"

    received = len(http.received())
    failing_check_run(instance)  # the check fails again: still failing, so sent again
    tick(tick(cursor))
    assert len(http.received()) == received + 2  # once to Slack, once to the webhook
    assert sum(DRIFTED in line for line in slack_lines(http)) == 2


def sent_keys(data: Path) -> dict[str, set[str]]:
    """The delivery ledger under `data`: channel -> the notice keys it has been sent."""
    path = data / "reports" / "_state" / f"{LEDGER}.json"
    if not path.exists():
        return {}
    return {channel: set(keys) for channel, keys in json.loads(path.read_text())["sent"].items()}


def delivery_ticks(instance: dg.DagsterInstance) -> list:
    """Every tick of alert_delivery_sensor the instance recorded (of every code location)."""
    states = [s for s in instance.all_instigator_state() if s.name == "alert_delivery_sensor"]
    return [
        tick
        for state in states
        for tick in instance.get_ticks(state.instigator_origin_id, state.selector_id)
    ]


def each_channel(condition: Callable[[str], bool]) -> bool:
    return all(condition(c) for c in ("slack", "email", "webhook"))
