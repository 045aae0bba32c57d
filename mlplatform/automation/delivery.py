"""Telling people: anomaly alerts, failing checks and failed runs to the configured channels.

One sensor reads the instance's event log from its cursor (new materializations of
serving/anomaly_alerts, failing check evaluations, run failures), turns them into notices and
hands them to the delivery ledger, which sends each one once per channel. The cursor lives in
the instance and the ledger under reports/_state/, so neither a daemon restart nor a re-run
of a day repeats a message.
"""

import json
import os
import time
from datetime import UTC, datetime

import dagster as dg

from mlplatform.defs.keys import ANOMALY_ALERTS
from mlplatform.lib.delivery.channels import (
    DeliveryError,
    send_email,
    send_slack,
    send_webhook,
)
from mlplatform.lib.delivery.ledger import Ledger, Sender, deliver
from mlplatform.lib.delivery.notices import Notice, anomaly_notices, check_notice, run_notice
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
    """The oldest news: alerts on earlier hours are history, and a sensor with no cursor yet
    starts reading the event log here (alerts enabled on a deployment with a history send
    what is recent, not everything that ever failed)."""
    return time.time() - config.max_alert_age_hours * 3600


def _alert_notices(
    context: dg.SensorEvaluationContext,
    config: AlertDelivery,
    lake_reader: LakeReader,
    cursor: str | None,
) -> tuple[list[Notice], str | None]:
    since = _news_since(config)
    records_filter = (
        ANOMALY_ALERTS
        if cursor
        else dg.AssetRecordsFilter(asset_key=ANOMALY_ALERTS, after_timestamp=since)
    )
    result = context.instance.fetch_materializations(
        records_filter, limit=BATCH, cursor=cursor, ascending=True
    )
    not_before = datetime.fromtimestamp(since, UTC)
    notices = []
    for record in result.records:
        partition = record.partition_key
        if partition is None:
            continue
        try:
            alerts = lake_reader.read("serving", "anomaly_alerts", [partition])
        except FileNotFoundError:
            context.log.warning(f"anomaly_alerts {partition} is materialized but has no file")
            continue
        notices += anomaly_notices(alerts, partition, config.ui_url, config.min_score, not_before)
    return notices, result.cursor if result.records else cursor


def _check_notices(
    context: dg.SensorEvaluationContext, config: AlertDelivery, after: int | None
) -> tuple[list[Notice], int | None]:
    wanted = CHECK_SEVERITIES[config.checks]
    records = context.instance.get_event_records(
        dg.EventRecordsFilter(
            event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION,
            after_cursor=after,
            after_timestamp=None if after else _news_since(config),
        ),
        limit=BATCH,
        ascending=True,
    )
    notices = []
    for record in records:
        evaluation = record.event_log_entry.asset_check_evaluation
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
                record.storage_id,
            )
        )
    return notices, records[-1].storage_id if records else after


def _run_notices(
    context: dg.SensorEvaluationContext, config: AlertDelivery, cursor: str | None
) -> tuple[list[Notice], str | None]:
    records_filter = dg.RunStatusChangeRecordsFilter(
        dg.DagsterEventType.RUN_FAILURE,
        after_timestamp=None if cursor else _news_since(config),
    )
    result = context.instance.fetch_run_status_changes(
        records_filter, limit=BATCH, cursor=cursor, ascending=True
    )
    notices = [
        run_notice(
            r.run_id,
            r.event_log_entry.job_name or "a job",
            (r.event_log_entry.message or "no reason recorded")[:300],
            config.ui_url,
        )
        for r in result.records
    ]
    return notices, result.cursor if result.records else cursor


def build_alert_delivery_sensor(
    config: AlertDelivery, interval_seconds: int
) -> dg.SensorDefinition:
    channels = senders(config)

    @dg.sensor(
        name="alert_delivery_sensor",
        minimum_interval_seconds=interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Sends new anomaly alerts, failing checks and failed runs to "
            + ", ".join(channels)
            + ", each once per channel, grouped per kind, with a link to the UI."
        ),
    )
    def alert_delivery_sensor(
        context: dg.SensorEvaluationContext, lake_reader: LakeReader, reports: Reports
    ) -> dg.SkipReason:
        cursor = json.loads(context.cursor) if context.cursor else {}
        notices, cursor["alerts"] = _alert_notices(
            context, config, lake_reader, cursor.get("alerts")
        )
        if config.checks != "off":
            found, cursor["checks"] = _check_notices(context, config, cursor.get("checks"))
            notices += found
        if config.run_failures:
            found, cursor["runs"] = _run_notices(context, config, cursor.get("runs"))
            notices += found
        ledger = Ledger.from_dict(reports.state(LEDGER))
        report = deliver(
            notices,
            ledger,
            channels,
            config.max_listed,
            time.time(),
            lambda current: reports.save_state(LEDGER, current.as_dict()),
        )
        for failure in report.failures:
            context.log.error(f"alert delivery failed, will retry: {failure}")
        if report.dropped:
            context.log.error(f"{report.dropped} notice(s) undelivered for a day, dropped")
        context.update_cursor(json.dumps(cursor))
        sent = ", ".join(f"{n} to {c}" for c, n in report.sent.items()) or "nothing new"
        return dg.SkipReason(f"{len(notices)} new notice(s); sent {sent}; {report.pending} pending")

    return alert_delivery_sensor
