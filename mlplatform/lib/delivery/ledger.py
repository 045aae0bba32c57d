"""Sending each notice once per channel: a ledger of what went where, and what is pending.

The ledger is saved after every successful send, so a restart (or a crash between two
channels) repeats nothing that was sent and loses nothing that was not: a notice stays pending
on a channel that failed and is tried again on the next pass, for up to `PENDING_SECONDS`.
A channel that is down is reported when it goes down and when it comes back, not on every
pass: the ledger remembers since when each one has been failing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from mlplatform.lib.delivery.channels import DeliveryError
from mlplatform.lib.delivery.notices import Message, Notice, group

KEEP_SECONDS = 120 * 86400  # how long a sent key is remembered (re-runs of old days)
PENDING_SECONDS = 86400  # a notice no channel took within a day is dropped, and reported


@dataclass
class Ledger:
    sent: dict[str, dict[str, float]] = field(default_factory=dict)  # channel -> key -> when
    pending: list[dict[str, Any]] = field(default_factory=list)  # notice fields + "since"
    failing: dict[str, float] = field(default_factory=dict)  # channel -> first failure

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ledger:
        return cls(
            sent=data.get("sent", {}),
            pending=data.get("pending", []),
            failing=data.get("failing", {}),
        )

    def keys(self) -> set[str]:
        """Every key some channel has been sent."""
        return {key for sent in self.sent.values() for key in sent}

    def as_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "pending": self.pending, "failing": self.failing}


@dataclass(frozen=True)
class DeliveryReport:
    sent: dict[str, int]  # channel -> notices sent
    failures: list[str]  # this pass's, "<channel>: <error>"
    pending: int
    dropped: int
    went_down: list[str] = field(default_factory=list)  # failures of channels that worked
    came_back: list[str] = field(default_factory=list)  # channels that failed and now sent


Sender = Callable[[Message], None]


def deliver(
    new: Iterable[Notice],
    ledger: Ledger,
    channels: dict[str, Sender],
    max_listed: int,
    now: float,
    save: Callable[[Ledger], None],
) -> DeliveryReport:
    """Send every new or pending notice a channel has not had, grouped; update `ledger`."""
    waiting = {p["key"]: p for p in ledger.pending}
    for notice in new:
        if not all(notice.key in ledger.sent.get(label, {}) for label in channels):
            waiting.setdefault(notice.key, notice.as_dict() | {"since": now})
    ledger.pending = list(waiting.values())
    save(ledger)  # new notices are on record before anything is sent
    sent: dict[str, int] = {}
    failures, went_down, came_back = [], [], []
    for label, send in channels.items():
        done = ledger.sent.setdefault(label, {})
        todo = [_notice(p) for p in ledger.pending if p["key"] not in done]
        for message in group(todo, max_listed):
            try:
                send(message)
            except DeliveryError as exc:
                failures.append(f"{label}: {exc}")
                if label not in ledger.failing:
                    ledger.failing[label] = now
                    went_down.append(failures[-1])
                continue
            if ledger.failing.pop(label, None) is not None:
                came_back.append(label)
            done.update(dict.fromkeys(message.keys, now))
            sent[label] = sent.get(label, 0) + len(message.keys)
            save(ledger)
    still = [p for p in ledger.pending if any(p["key"] not in ledger.sent[c] for c in channels)]
    ledger.pending = [p for p in still if now - p["since"] < PENDING_SECONDS]
    for label in ledger.sent:
        ledger.sent[label] = {k: t for k, t in ledger.sent[label].items() if now - t < KEEP_SECONDS}
    ledger.failing = {c: t for c, t in ledger.failing.items() if c in channels}
    save(ledger)
    dropped = len(still) - len(ledger.pending)
    return DeliveryReport(sent, failures, len(ledger.pending), dropped, went_down, came_back)


def _notice(pending: dict[str, Any]) -> Notice:
    return Notice(**{k: v for k, v in pending.items() if k != "since"})
