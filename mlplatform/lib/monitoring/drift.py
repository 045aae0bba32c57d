"""Feature drift with Evidently, on columns that seasonality alone does not move.

Week-over-week ratios compare each hour with the same hour a week before, so weekends and
daily peaks look alike in the reference and in any current day; a change of traffic mix or
level shows up at once, and fades a week later when the new level becomes its own baseline.
Evidently is pandas-based and slow: both sides are sampled to a bounded size with a seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

MONITORED = {
    "request_count_wow": pl.col("request_count") / (pl.col("request_count_lag_168h") + 1.0),
    "cpu_utilization_wow": pl.col("cpu_utilization") - pl.col("cpu_utilization_lag_168h"),
}
REFERENCE_DAYS = 28
SAMPLE_ROWS = 5_000
METHOD = "wasserstein"  # normed Wasserstein distance; a column drifts above the threshold
COLUMN_THRESHOLD = 0.1


@dataclass(frozen=True)
class DriftSummary:
    share: float  # share of monitored columns that drifted
    drifted: list[str]
    scores: dict[str, float]
    reference_rows: int
    current_rows: int

    def as_frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "column": list(self.scores),
                "score": list(self.scores.values()),
                "drifted": [c in self.drifted for c in self.scores],
            }
        )


class InsufficientHistory(ValueError):
    """Too few rows with a week of history on one side: drift cannot be measured yet."""


def reference_days(available: list[str], champion_window: str | None, day: str) -> list[str]:
    """What `day` is compared with: the partitions of the champion's training window
    (`first..last`) before it, or without one the `REFERENCE_DAYS` partitions before it."""
    before = [d for d in available if d < day]
    if champion_window:
        first, _, last = champion_window.partition("..")
        chosen = [d for d in before if first <= d <= last]
        if chosen:
            return chosen
    return before[-REFERENCE_DAYS:]


def monitored_columns(features: pl.DataFrame) -> pl.DataFrame:
    return features.select(**MONITORED).drop_nulls().filter(pl.all_horizontal(pl.all().is_finite()))


def _sample(frame: pl.DataFrame, rows: int, seed: int) -> pl.DataFrame:
    return frame.sample(n=rows, seed=seed) if frame.height > rows else frame


def feature_drift(
    reference: pl.DataFrame,
    current: pl.DataFrame,
    html_path: Path | None = None,
    sample_rows: int = SAMPLE_ROWS,
    seed: int = 7,
) -> DriftSummary:
    """Compare `current` features with `reference` ones; optionally save Evidently's HTML."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    ref = _sample(monitored_columns(reference), sample_rows, seed)
    cur = _sample(monitored_columns(current), sample_rows, seed)
    if ref.height < 50 or cur.height < 50:
        raise InsufficientHistory(
            f"too few rows with a week of history to compare (reference {ref.height}, "
            f"current {cur.height}); drift needs 50 of each"
        )
    definition = DataDefinition(numerical_columns=list(MONITORED))
    report = Report([DataDriftPreset(method=METHOD, threshold=COLUMN_THRESHOLD)])
    snapshot = report.run(
        Dataset.from_pandas(cur.to_pandas(), data_definition=definition),
        Dataset.from_pandas(ref.to_pandas(), data_definition=definition),
    )
    scores = {}
    for metric in snapshot.dict()["metrics"]:
        column = metric.get("config", {}).get("column")
        if metric.get("config", {}).get("type", "").endswith("ValueDrift") and column:
            scores[column] = float(metric["value"])
    drifted = [c for c, s in scores.items() if s > COLUMN_THRESHOLD]
    if html_path is not None:
        html_path.parent.mkdir(parents=True, exist_ok=True)
        snapshot.save_html(str(html_path))
    return DriftSummary(len(drifted) / len(scores), drifted, scores, ref.height, cur.height)


@dataclass(frozen=True)
class Thresholds:
    warn: float
    error: float

    def severity(self, value: float) -> str | None:
        """'ERROR', 'WARN' or None (healthy) for a measured value; higher is worse."""
        if value >= self.error:
            return "ERROR"
        if value >= self.warn:
            return "WARN"
        return None
