"""Notices, grouping, the once-per-channel ledger, and the three channels against local
receivers."""

import socket
import traceback
from datetime import UTC, datetime

import polars as pl
import pytest

from mlplatform.lib.delivery.channels import DeliveryError, send_email, send_slack, send_webhook
from mlplatform.lib.delivery.ledger import PENDING_SECONDS, Ledger, deliver
from mlplatform.lib.delivery.notices import Notice, group, incident_notices, incident_summary
from mlplatform.lib.operations_config import EmailChannel
from mlplatform.lib.serving.incidents import incidents
from mlplatform_tests.receivers import HttpReceiver, SmtpReceiver

UI = "http://dagster.example:3000"


def _incidents(hours: list[int], score: float = 0.995) -> pl.DataFrame:
    """One resource incident per hour, on i-HH's cpu, from one alert each."""
    alerts = pl.DataFrame(
        {
            "resource_id": [f"i-{h:02d}" for h in hours],
            "metric": "cpu_utilization",
            "ts": [datetime(2026, 1, 5, h, tzinfo=UTC) for h in hours],
            "value": 97.5,
            "anomaly_score": score,
            "signal": "residual",
            "elevated_hours": 2,
            "seen_hours": 6,
        }
    )
    groups = alerts.select("resource_id", service=pl.lit("EC2"), region=pl.lit("eu-west-1"))
    return incidents(alerts, groups)


def _notice(key: str, kind: str = "incident") -> Notice:
    return Notice(key, kind, "error", f"summary of {key}", f"{UI}/assets/x")


def test_incident_notices_name_the_incident_and_link_its_partition():
    table = _incidents([7])
    [notice] = incident_notices(table, "2026-01-05", UI)
    assert notice.key == f"incident:{table['incident_id'][0]}"
    assert notice.summary.startswith("error: resource i-07, 2026-01-05 07:00 UTC, 1 resource(s)")
    assert "peak score 0.995; first i-07/cpu_utilization" in notice.summary
    assert notice.link == f"{UI}/assets/serving/anomaly_incidents?partition=2026-01-05"
    assert incident_notices(table, "2026-01-05", UI, min_score=0.999) == []
    assert incident_notices(table, "2026-01-05", UI, min_severity="critical") == []
    old_news = datetime(2026, 1, 5, 8, tzinfo=UTC)  # incidents that ended before are history
    [recent] = incident_notices(_incidents([7, 9]), "2026-01-05", UI, not_before=old_news)
    assert "i-09" in recent.summary


def test_a_budget_sends_the_most_severe_incidents_first():
    table = pl.concat([_incidents([1, 2], score=0.8), _incidents([3], score=0.99)])
    [first, second] = incident_notices(table, "2026-01-05", UI, budget=2)
    assert "i-03" in first.summary and first.severity == "error"
    assert "i-01" in second.summary  # equally severe: the earlier


def test_a_long_incident_lists_five_series_and_counts_the_rest():
    rows = _incidents([7]).row(0, named=True) | {
        "series": [f"i-07/m{k}" for k in range(8)],
        "n_series": 8,
    }
    line = incident_summary(rows)
    assert "series i-07/m0, i-07/m1, i-07/m2, i-07/m3, i-07/m4 and 3 more" in line


def test_many_alerts_at_once_make_one_message_per_kind():
    notices = [_notice(f"a{i}") for i in range(30)] + [_notice("r1", "run")]
    messages = group(notices, max_listed=20)
    assert [(m.kind, len(m.keys), len(m.lines), m.more) for m in messages] == [
        ("incident", 30, 20, 10),
        ("run", 1, 1, 0),
    ]
    assert "... and 10 more" in messages[0].text
    assert messages[0].title == "[mlplatform] 30 anomaly incidents (error)"


def test_each_notice_goes_once_per_channel_and_a_failed_channel_retries():
    sent: dict[str, list[list[str]]] = {"slack": [], "email": []}
    email_down = True

    def slack(message):
        sent["slack"].append(message.keys)

    def email(message):
        if email_down:
            raise DeliveryError("connection refused")
        sent["email"].append(message.keys)

    channels = {"slack": slack, "email": email}
    saved: list[dict] = []
    ledger = Ledger()
    first = deliver(
        [_notice("a"), _notice("b")],
        ledger,
        channels,
        20,
        1000.0,
        lambda x: saved.append(x.as_dict()),
    )
    assert sent == {"slack": [["a", "b"]], "email": []}
    assert first.failures == ["email: connection refused"] and first.pending == 2

    # a restart: the ledger comes back from what was saved; the same notices arrive again
    email_down = False
    ledger = Ledger.from_dict(saved[-1])
    second = deliver(
        [_notice("a"), _notice("b"), _notice("c")],
        ledger,
        channels,
        20,
        1060.0,
        lambda x: saved.append(x.as_dict()),
    )
    assert sent == {"slack": [["a", "b"], ["c"]], "email": [["a", "b", "c"]]}
    assert second.failures == [] and second.pending == 0
    third = deliver(
        [_notice("a")], Ledger.from_dict(saved[-1]), channels, 20, 1100.0, lambda x: None
    )
    assert third.sent == {} and len(sent["slack"]) == 2


def test_a_notice_no_channel_takes_for_a_day_is_dropped_and_counted():
    def down(message):
        raise DeliveryError("down")

    ledger = Ledger()
    deliver([_notice("a")], ledger, {"slack": down}, 20, 0.0, lambda x: None)
    later = deliver([], ledger, {"slack": down}, 20, PENDING_SECONDS + 1.0, lambda x: None)
    assert later.dropped == 1 and later.pending == 0


def test_markup_in_the_data_reaches_slack_as_text(http_receiver: HttpReceiver):
    hostile = Notice("a", "incident", "error", "i-<!channel> <http://evil|click> & co", "x")
    [message] = group([hostile], max_listed=20)
    send_slack(f"{http_receiver.url}/slack", message)
    [slack] = http_receiver.received()
    assert "i-&lt;!channel&gt; &lt;http://evil|click&gt; &amp; co" in slack["text"]
    assert "<" not in slack["text"]


def test_slack_and_webhook_messages_reach_an_http_receiver(http_receiver: HttpReceiver):
    [message] = group([_notice("a"), _notice("b")], max_listed=20)
    send_slack(f"{http_receiver.url}/slack", message)
    send_webhook(f"{http_receiver.url}/events", message, routing_key="R0UT1NG")
    slack, event = http_receiver.received()
    assert slack["path"] == "/slack" and "summary of a" in slack["text"]
    assert event["routing_key"] == "R0UT1NG" and event["event_action"] == "trigger"
    assert event["payload"]["severity"] == "error"
    assert event["payload"]["custom_details"]["notices"] == ["summary of a", "summary of b"]
    assert event["links"] == [{"href": f"{UI}/assets/x", "text": "Open in Dagster"}]
    http_receiver.fail_next = 1
    with pytest.raises(DeliveryError, match="answered HTTP 503"):
        send_slack(f"{http_receiver.url}/slack", message)


def test_a_failed_send_names_the_host_and_never_the_url_or_its_cause():
    """A webhook URL's path is its credential; requests quotes it in its errors."""
    [message] = group([_notice("a")], max_listed=20)
    secret = "/services/T01/B02/s3cr3t"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}{secret}"
    for send in (send_slack, lambda url, m: send_webhook(url, m, "R0UT1NG")):
        with pytest.raises(DeliveryError) as caught:
            send(dead, message)
        error = caught.value
        assert "127.0.0.1:" in str(error) and "ConnectionError" in str(error)
        assert error.__cause__ is None and error.__suppress_context__
        assert secret not in "".join(traceback.format_exception(error))


def test_a_channel_that_is_down_is_reported_when_it_goes_down_and_when_it_is_back():
    state = {"down": True}

    def flaky(message):
        if state["down"]:
            raise DeliveryError("alert webhook at 127.0.0.1:9: ConnectionError")

    ledger = Ledger()
    first = deliver([_notice("a")], ledger, {"pager": flaky}, 20, 0.0, lambda x: None)
    second = deliver([_notice("b")], ledger, {"pager": flaky}, 20, 30.0, lambda x: None)
    assert first.went_down == ["pager: alert webhook at 127.0.0.1:9: ConnectionError"]
    assert second.went_down == [] and len(second.failures) == 1 and second.pending == 2
    state["down"] = False
    third = deliver(
        [], Ledger.from_dict(ledger.as_dict()), {"pager": flaky}, 20, 60.0, lambda x: None
    )
    assert third.came_back == ["pager"] and third.sent == {"pager": 2} and third.pending == 0


def test_email_reaches_an_smtp_server(smtp_receiver: SmtpReceiver):
    channel = EmailChannel(
        kind="email",
        host=smtp_receiver.host,
        port=smtp_receiver.port,
        starttls=False,
        sender="mlplatform@example.com",
        recipients=["oncall@example.com"],
    )
    [message] = group([_notice("a")], max_listed=20)
    send_email(channel, message, None, None)
    [email] = smtp_receiver.messages
    assert email["Subject"] == "[mlplatform] 1 anomaly incident (error)"
    assert email["To"] == "oncall@example.com"
    assert "summary of a" in email.get_payload()


def test_an_unreachable_smtp_server_is_a_delivery_error():
    channel = EmailChannel(
        kind="email", host="127.0.0.1", port=1, starttls=False, sender="a@b", recipients=["c@d"]
    )
    [message] = group([_notice("a")], max_listed=20)
    with pytest.raises(DeliveryError, match=r"127\.0\.0\.1:1"):
        send_email(channel, message, None, None)
