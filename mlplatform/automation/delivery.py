"""Telling people: anomaly incidents, failing checks and failed runs to the configured channels.

One sensor reads, from its cursor, the new materializations of serving/anomaly_incidents and
the runs that finished (their failing check evaluations, and the failure of a run that will
not be retried), turns them into notices and hands them to the delivery ledger, which sends
each one once per channel. The cursor lives in the instance and the ledger under
reports/_state/, so neither a daemon restart nor a re-run of a day repeats a message. Every
read goes through an API each of the project's instances supports (the default's SQLite event
log is sharded by run and refuses a global event cursor).
"""

import json
import os
import time
from datetime import UTC, datetime, timedelta

import dagster as dg
import polars as pl

from mlplatform.defs.keys import ANOMALY_INCIDENTS
from mlplatform.lib.delivery.channels import (
    DeliveryError,
    send_email,
    send_slack,
    send_webhook,
)
from mlplatform.lib.delivery.ledger import Ledger, Sender, deliver
from mlplatform.lib.delivery.notices import (
    Notice,
    check_notice,
    incident_key,
    incident_notices,
    run_notice,
)
from mlplatform.lib.operations_config import (
    AlertDelivery,
    EmailChannel,
    SlackChannel,
    WebhookChannel,
)
from mlplatform.resources.models import LakeReader
from mlplatform.resources.monitoring import Reports

LEDGER = "alert_deliveries"
BATCH = 200  # events read per kind and tick
CHECK_SEVERITIES = {"error": {"ERROR"}, "warn": {"ERROR", "WARN"}, "off": set()}
FINISHED = [
    dg.DagsterRunStatus.SUCCESS,
    dg.DagsterRunStatus.FAILURE,
    dg.DagsterRunStatus.CANCELED,
]
WILL_RETRY_TAG = "dagster/will_retry"
# the instance tags a failed run will_retry just after it records the failure; a run failed
# this recently without the tag is read again on the next tick, not announced as final
RETRY_VERDICT_SECONDS = 60


def _secret(name: str | None) -> str | None:
    if name is None:
        return None
    value = os.environ.get(name)
    if not value:
        raise DeliveryError(f"the channel's secret {name} is not set in the environment")
    return value


def senders(config: AlertDelivery) -> dict[str, Sender]:
    """Each channel's send function; secrets are read from the environment when sending."""
    result: dict[str, Sender] = {}
    for channel in config.channels:
        if isinstance(channel, SlackChannel):
            result[channel.label] = lambda m, c=channel: send_slack(_secret(c.webhook_url_env), m)
        elif isinstance(channel, EmailChannel):
            result[channel.label] = lambda m, c=channel: send_email(
                c, m, _secret(c.username_env), _secret(c.password_env)
            )
        elif isinstance(channel, WebhookChannel):
            result[channel.label] = lambda m, c=channel: send_webhook(
                _secret(c.url_env), m, _secret(c.routing_key_env)
            )
    return result


def _news_since(config: AlertDelivery) -> float:
    """The oldest news: incidents on earlier hours are history, and a sensor with no cursor
    yet starts reading the event log here (alerts enabled on a deployment with a history send
    what is recent, not everything that ever failed)."""
    return time.time() - config.max_alert_age_hours * 3600


def _incident_notices(
    context: dg.SensorEvaluationContext,
    config: AlertDelivery,
    lake_reader: LakeReader,
    ledger: Ledger,
    cursor: str | None,
) -> tuple[list[Notice], str | None]:
    since = _news_since(config)
    records_filter = (
        ANOMALY_INCIDENTS
        if cursor
        else dg.AssetRecordsFilter(asset_key=ANOMALY_INCIDENTS, after_timestamp=since)
    )
    result = context.instance.fetch_materializations(
        records_filter, limit=BATCH, cursor=cursor, ascending=True
    )
    not_before = datetime.fromtimestamp(since, UTC)
    notices: list[Notice] = []
    for partition in dict.fromkeys(r.partition_key for r in result.records if r.partition_key):
        try:
            incidents = lake_reader.read(*ANOMALY_INCIDENTS.path, [partition])
        except FileNotFoundError:
            context.log.warning(f"anomaly_incidents {partition} is materialized but has no file")
            continue
        budget = config.max_incidents_per_day
        if budget is not None:  # what earlier ticks sent of the day counts against it
            keys = ledger.keys()
            sent = [i for i in incidents["incident_id"] if incident_key(i) in keys]
            incidents = incidents.filter(~pl.col("incident_id").is_in(sent))
            budget = max(0, budget - len(sent))
        notices += incident_notices(
            incidents,
            partition,
            config.ui_url,
            config.min_score,
            config.min_severity,
            not_before,
            budget,
        )
    return notices, result.cursor if result.records else cursor


CHECKED = dg.DagsterEventType.ASSET_CHECK_EVALUATION
FAILED = dg.DagsterEventType.RUN_FAILURE


def _finished_run_notices(
    context: dg.SensorEvaluationContext,
    config: AlertDelivery,
    run: dg.DagsterRun,
    failure_is_news: bool,
) -> list[Notice]:
    """The run's failing checks (of the wanted severities) and, if `failure_is_news`, its
    failure: one read of the run's event log for both."""
    wanted = CHECK_SEVERITIES[config.checks]
    kinds = ({CHECKED} if wanted else set()) | ({FAILED} if failure_is_news else set())
    if not kinds:
        return []
    entries = context.instance.all_logs(run.run_id, of_type=kinds)
    notices = []
    for entry in entries:
        evaluation = entry.asset_check_evaluation
        if evaluation is None or evaluation.passed or evaluation.severity.value not in wanted:
            continue
        notices.append(
            check_notice(
                evaluation.asset_key.to_user_string(),
                evaluation.check_name,
                evaluation.partition,
                evaluation.severity.value,
                evaluation.description,
                config.ui_url,
                run.run_id,
            )
        )
    if failure_is_news:
        failures = [e.message for e in entries if e.dagster_event_type == FAILED]
        reason = ((failures[-1] if failures else None) or "no reason recorded")[:300]
        notices.append(run_notice(run.run_id, run.job_name, reason, config.ui_url))
    return notices


def _run_notices(
    context: dg.SensorEvaluationContext, config: AlertDelivery, cursor: dict | None
) -> tuple[list[Notice], dict]:
    """Failing checks and failed runs, read run by run from the runs that finished since the
    cursor: an asset check's evaluation lives in its run's event log, which the instance's
    run-sharded SQLite storage keeps per run, so this reads it the same way on every instance.
    A failed run the instance will retry is not news; the retry's own failure is."""
    if cursor:
        after = datetime.fromisoformat(cursor["after"])
        seen = set(cursor.get("seen", []))
    else:  # a first tick; an older sensor's cursor starts here too, so nothing is repeated
        after = datetime.fromtimestamp(_news_since(config) if cursor is None else time.time(), UTC)
        seen = set()
    records = context.instance.get_run_records(
        filters=dg.RunsFilter(statuses=FINISHED, updated_after=after - timedelta(microseconds=1)),
        order_by="update_timestamp",
        ascending=True,
        limit=BATCH,
    )
    notices: list[Notice] = []
    now = datetime.now(UTC)
    for record in records:
        run, updated = record.dagster_run, _utc(record.update_timestamp)
        if run.run_id in seen and updated <= after:
            continue
        failed = run.status == dg.DagsterRunStatus.FAILURE
        verdict = run.tags.get(WILL_RETRY_TAG)
        if failed and verdict is None and (now - updated).total_seconds() < RETRY_VERDICT_SECONDS:
            break  # the retry verdict is still being written: this run and later ones wait
        failure_is_news = failed and config.run_failures and verdict != "true"
        notices += _finished_run_notices(context, config, run, failure_is_news)
        seen = {run.run_id} | (seen if updated == after else set())
        after = updated
    return notices, {"after": after.isoformat(), "seen": sorted(seen)}


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def build_alert_delivery_sensor(
    config: AlertDelivery, interval_seconds: int
) -> dg.SensorDefinition:
    channels = senders(config)

    @dg.sensor(
        name="alert_delivery_sensor",
        minimum_interval_seconds=interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Sends new anomaly incidents, failing checks and failed runs to "
            + ", ".join(channels)
            + ", each once per channel, grouped per kind, with a link to the UI."
        ),
    )
    def alert_delivery_sensor(
        context: dg.SensorEvaluationContext, lake_reader: LakeReader, reports: Reports
    ) -> dg.SkipReason:
        cursor = json.loads(context.cursor) if context.cursor else {}
        ledger = Ledger.from_dict(reports.state(LEDGER))
        cursor.pop("alerts", None)  # an older sensor's, over per-series alerts
        notices, cursor["incidents"] = _incident_notices(
            context, config, lake_reader, ledger, cursor.get("incidents")
        )
        if config.checks != "off" or config.run_failures:
            runs = cursor.get("runs")
            if not isinstance(runs, dict):  # none yet, or an older sensor's (a string)
                runs = None if runs is None and "checks" not in cursor else {}
            cursor.pop("checks", None)
            found, cursor["runs"] = _run_notices(context, config, runs)
            notices += found
        report = deliver(
            notices,
            ledger,
            channels,
            config.max_listed,
            time.time(),
            lambda current: reports.save_state(LEDGER, current.as_dict()),
        )
        for failure in report.went_down:
            context.log.error(f"alert delivery failed, notices kept pending: {failure}")
        for label in report.came_back:
            context.log.info(f"alert delivery to {label} works again")
        if report.dropped:
            context.log.error(f"{report.dropped} notice(s) undelivered for a day, dropped")
        context.update_cursor(json.dumps(cursor))
        sent = ", ".join(f"{n} to {c}" for c, n in report.sent.items()) or "nothing new"
        down = "".join(f"; {f}" for f in report.failures)
        return dg.SkipReason(
            f"{len(notices)} new notice(s); sent {sent}; {report.pending} pending{down}"
        )

    return alert_delivery_sensor
