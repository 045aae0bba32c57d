"""Sending one grouped message: a Slack-compatible webhook, email over SMTP, or a generic
JSON webhook in PagerDuty's Events API v2 shape. Each raises `DeliveryError` on failure."""

from __future__ import annotations

import hashlib
import smtplib
from email.message import EmailMessage

import requests

from mlplatform.lib.delivery.notices import Message
from mlplatform.lib.operations_config import EmailChannel

TIMEOUT_SECONDS = 10
PAGERDUTY_SEVERITY = {"warning": "warning", "error": "error", "critical": "critical"}


class DeliveryError(RuntimeError):
    """A channel refused or could not be reached; the message stays pending."""


def send_slack(webhook_url: str, message: Message) -> None:
    _post(webhook_url, {"text": message.text}, "Slack webhook")


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
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"email via {channel.host}:{channel.port}: {exc}") from exc


def _post(url: str, body: dict, what: str) -> None:
    try:
        response = requests.post(url, json=body, timeout=TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        raise DeliveryError(f"{what}: {exc}") from exc
    if response.status_code >= 300:
        raise DeliveryError(f"{what} answered {response.status_code}: {response.text[:200]}")
