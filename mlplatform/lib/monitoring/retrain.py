"""When a failed check should retrain a model: ERROR only, each failure once, and not again
for the same model within the cooldown. Plain data in, plain decisions out."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class CheckFailure:
    check: str  # e.g. "monitoring/feature_drift:feature_drift_check"
    model: str
    partition: str | None
    value: float | None
    severity: str  # "ERROR" or "WARN"
    record_id: int


@dataclass(frozen=True)
class RetrainRequest:
    model: str
    trigger: str
    partition: str | None
    value: float | None
    run_key: str


@dataclass
class RetrainState:
    """The sensor's cursor: the newest check record seen per check, the last retrain per model."""

    seen: dict[str, int] = field(default_factory=dict)
    last_retrain: dict[str, str] = field(default_factory=dict)  # model -> ISO time

    def dumps(self) -> str:
        return json.dumps({"seen": self.seen, "last_retrain": self.last_retrain}, sort_keys=True)

    @classmethod
    def loads(cls, text: str | None) -> RetrainState:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(dict(data.get("seen", {})), dict(data.get("last_retrain", {})))


def decide(
    failures: list[CheckFailure], state: RetrainState, now: datetime, cooldown: timedelta
) -> tuple[list[RetrainRequest], list[str]]:
    """Retrain requests for new ERROR failures outside the cooldown, and why others were not."""
    requests: list[RetrainRequest] = []
    skipped: list[str] = []
    for failure in sorted(failures, key=lambda f: f.record_id):
        if failure.record_id <= state.seen.get(failure.check, 0):
            continue
        state.seen[failure.check] = failure.record_id
        if failure.severity != "ERROR":
            skipped.append(f"{failure.check} {failure.partition}: {failure.severity} only")
            continue
        last = state.last_retrain.get(failure.model)
        if last and now - datetime.fromisoformat(last) < cooldown:
            skipped.append(f"{failure.model}: retrained at {last}, within the {cooldown} cooldown")
            continue
        state.last_retrain[failure.model] = now.isoformat()
        requests.append(
            RetrainRequest(
                model=failure.model,
                trigger=failure.check,
                partition=failure.partition,
                value=failure.value,
                run_key=f"retrain:{failure.model}:{failure.check}:{failure.record_id}",
            )
        )
    return requests, skipped


def first_trainings(
    input_days: dict[str, int],
    with_champion: set[str],
    min_days: int,
    attempted: Mapping[str, int] | None = None,
) -> list[str]:
    """Models without a champion whose input now has `min_days` partitions and more than at
    their last first-training attempt (`attempted`: the partition count then): these train on
    their own. A model refused for not beating naive tries again once another day has landed,
    not on the same data. Any later retrain is `decide`'s call or the schedule's."""
    attempted = attempted or {}
    return sorted(
        model
        for model, days in input_days.items()
        if model not in with_champion and days >= min_days and days > attempted.get(model, 0)
    )
