"""Sending one grouped message: a Slack-compatible webhook, email over SMTP, or a generic
JSON webhook in PagerDuty's Events API v2 shape. Each raises `DeliveryError` on failure.

A webhook's URL is its credential (Slack's path holds the token), and the errors of requests
and smtplib quote URLs and server replies: a `DeliveryError` names the channel's kind, host and
the kind of failure only, and is raised `from None` so no traceback carries the original.
"""

from __future__ import annotations

import hashlib
import smtplib
from email.message import EmailMessage
from urllib.parse import urlsplit

import requests

from mlplatform.lib.delivery.notices import Message
from mlplatform.lib.operations_config import EmailChannel

TIMEOUT_SECONDS = 10
PAGERDUTY_SEVERITY = {"warning": "warning", "error": "error", "critical": "critical"}


class DeliveryError(RuntimeError):
    """A channel refused or could not be reached; the message stays pending."""


def slack_escaped(text: str) -> str:
    """Text as Slack shows it literally: a resource named `<!channel>` or `<http://x|y>` in the
    data pings nobody and links nowhere (Slack's own escaping of &, < and >)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def send_slack(webhook_url: str, message: Message) -> None:
    _post(webhook_url, {"text": slack_escaped(message.text)}, "Slack webhook")


def send_webhook(url: str, message: Message, routing_key: str | None = None) -> None:
    """One `trigger` event per message; its dedup_key is the notices', so a receiver that
    deduplicates (PagerDuty does) folds a repeat into the same incident."""
    event = {
        "event_action": "trigger",
        "dedup_key": hashlib.sha256("\n".join(sorted(message.keys)).encode()).hexdigest(),
        "payload": {
            "summary": message.title.removeprefix("[mlplatform] ")[:1024],
            "source": "mlplatform",
            "severity": PAGERDUTY_SEVERITY[message.severity],
            "component": message.kind,
            "custom_details": {"notices": message.lines, "more": message.more},
        },
        "links": [{"href": link, "text": "Open in Dagster"} for link in message.links],
    }
    if routing_key:
        event["routing_key"] = routing_key
    _post(url, event, "alert webhook")


def send_email(
    channel: EmailChannel, message: Message, username: str | None, password: str | None
) -> None:
    email = EmailMessage()
    email["Subject"] = message.title
    email["From"] = channel.sender
    email["To"] = ", ".join(channel.recipients)
    email.set_content(message.text)
    try:
        with smtplib.SMTP(channel.host, channel.port, timeout=TIMEOUT_SECONDS) as smtp:
            if channel.starttls:
                smtp.starttls()
            if username and password:
                smtp.login(username, password)
            smtp.send_message(email)
    except smtplib.SMTPResponseException as exc:
        reason = f"answered {exc.smtp_code}"
    except (OSError, smtplib.SMTPException) as exc:
        reason = type(exc).__name__
    else:
        return
    raise DeliveryError(f"email via {channel.host}:{channel.port}: {reason}") from None


def endpoint(url: str) -> str:
    """The host and port of a URL, the only part of it an error may show."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "an unparsable URL"
    return f"{parts.hostname or 'no host'}{port}"


def _post(url: str, body: dict, what: str) -> None:
    try:
        response = requests.post(url, json=body, timeout=TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        reason = type(exc).__name__
    else:
        if response.status_code < 300:
            return
        reason = f"answered HTTP {response.status_code}"
    raise DeliveryError(f"{what} at {endpoint(url)}: {reason}") from None
