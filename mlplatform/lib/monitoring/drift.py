"""Drift of a day's model inputs and predictions, and their data quality, with Evidently.

What is compared: every numeric column of feature set v1 that a model reads (calendar
columns move with the date alone and are left out), the segment columns (service, region)
as categories, and the champions' outputs where they are given: the demand forecasts
(`forecast_h{k}`) and the anomaly detector's alerts (`anomaly_alerts`, alerts per
resource-hour, so a detector that starts firing on everything, or falls silent, moves it).
The reference is the champion's training window, restricted to the same day of the week as
the day measured: a Monday is compared with the window's Mondays, all 24 hours
on both sides, so the daily and weekly cycles are in both and only a change of level, mix or
shape moves a column.

One Evidently report per day holds the drift of every column (normed Wasserstein distance
for numbers, Jensen-Shannon for categories) and the data quality of each (missing values,
values outside the contract's range, categories the reference never had). Where columns
drifted, the same test on each segment's rows says where the drift is concentrated.
Evidently is pandas-based and slow, so both sides are sampled to a bounded size with a seed.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from mlplatform.lib.ingest.catalog import IDENTIFIER_CHARACTERS

REFERENCE_DAYS = 28
SAMPLE_ROWS = 5_000
SEGMENT_SAMPLE_ROWS = 2_000
SEGMENT_COLUMNS = 8  # the most drifted columns the per-segment view compares
MIN_ROWS = 50  # non-null values on each side before a column is compared
NUM_METHOD, CAT_METHOD = "wasserstein", "jensenshannon"
COLUMN_THRESHOLD = 0.1  # a column drifts above this distance
SEGMENTS = ("service", "region")
PREDICTION_PREFIX = "forecast_h"
ALERTS = "anomaly_alerts"
KEYS = ("resource_id", "ts")
SETTLED = "request_count_lag_24h"  # present once a resource's 24-hour windows are full
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# moved by the date alone, and bookkeeping: not evidence of drift
CALENDAR = {
    "hour_of_day",
    "day_of_week",
    "month",
    "is_weekend",
    "is_business_hour",
    *(f"{c}_{f}" for c in ("hour_of_day", "day_of_week", "month") for f in ("sin", "cos")),
    "source_rows",
}
RANGES: dict[str, tuple[float, float | None]] = {
    "cpu_utilization": (0.0, 100.0),
    "memory_utilization": (0.0, 100.0),
    "network_io": (0.0, None),
    "request_count": (0.0, None),
}


@dataclass(frozen=True)
class DriftSummary:
    share: float  # share of compared columns that drifted
    drifted: list[str]
    scores: dict[str, float]  # column -> distance
    reference_rows: int
    current_rows: int
    missing: dict[str, tuple[float, float]] = field(default_factory=dict)  # current, reference
    out_of_range: dict[str, int] = field(default_factory=dict)
    new_categories: dict[str, list[str]] = field(default_factory=dict)
    segments: dict[str, float] = field(default_factory=dict)  # "service=RDS" -> drift share
    not_compared: dict[str, str] = field(default_factory=dict)  # column -> why

    @property
    def families(self) -> dict[str, float]:
        """Median distance of each family's compared columns (`family`): how far a whole
        signal moved. Noise lifts a column or two of a family; a change of the signal
        itself lifts most of them."""
        members: dict[str, list[float]] = {}
        for column, score in self.scores.items():
            members.setdefault(family(column), []).append(score)
        return {name: statistics.median(v) for name, v in sorted(members.items())}

    @property
    def signal(self) -> tuple[str, float]:
        """The metric whose columns moved most (`families`), and their median distance."""
        metrics = {f: v for f, v in self.families.items() if f in RANGES}
        if not metrics:
            return "none", 0.0
        name = max(metrics, key=lambda f: (metrics[f], f))
        return name, metrics[name]

    def figures(self) -> dict[str, float]:
        """What the drift check compares with its thresholds."""
        return {"drift_share": self.share, "signal_drift": self.signal[1]}

    def as_frame(self) -> pl.DataFrame:
        columns = sorted(set(self.scores) | set(self.missing))
        return pl.DataFrame(
            {
                "column": columns,
                "kind": [_kind(c) for c in columns],
                "score": [self.scores.get(c) for c in columns],
                "drifted": [c in self.drifted for c in columns],
                "missing_share": [self.missing.get(c, (None, None))[0] for c in columns],
                "missing_share_reference": [self.missing.get(c, (None, None))[1] for c in columns],
                "out_of_range": [self.out_of_range.get(c, 0) for c in columns],
            },
            schema={
                "column": pl.String,
                "kind": pl.String,
                "score": pl.Float64,
                "drifted": pl.Boolean,
                "missing_share": pl.Float64,
                "missing_share_reference": pl.Float64,
                "out_of_range": pl.Int64,
            },
        )

    def headline(self) -> str:
        """What moved, in one paragraph for the UI."""
        parts = [f"{len(self.drifted)} of {len(self.scores)} compared columns drifted"]
        name, distance = self.signal
        parts.append(f"the most moved metric: {name} (median distance {distance:.2f})")
        if self.drifted:
            top = sorted(self.drifted, key=lambda c: -self.scores[c])[:5]
            parts.append("most: " + ", ".join(f"{c} ({self.scores[c]:.2f})" for c in top))
        if self.segments:
            ranked = sorted(self.segments, key=lambda s: (-self.segments[s], s))[:4]
            shares = ", ".join(f"{s} {self.segments[s]:.0%}" for s in ranked)
            parts.append(f"share of those columns drifting within a segment: {shares}")
        more_missing = [c for c, (cur, ref) in self.missing.items() if cur - ref >= 0.1]
        if more_missing:
            parts.append("more missing values in " + ", ".join(more_missing))
        if any(self.out_of_range.values()):
            parts.append(
                "out of range: "
                + ", ".join(f"{c} ({n})" for c, n in self.out_of_range.items() if n)
            )
        if self.new_categories:
            parts.append(
                "new categories: "
                + "; ".join(f"{c}={', '.join(v)}" for c, v in self.new_categories.items())
            )
        return "; ".join(parts)


def family(column: str) -> str:
    """The signal a column is derived from: its base metric (`memory_utilization_p95_24h` ->
    `memory_utilization`), `prediction`, `segment`, or `other` (cross-metric ratios). A change
    confined to one metric moves most of its family and little else."""
    if _kind(column) != "feature":
        return _kind(column)
    return next((m for m in RANGES if column == m or column.startswith(f"{m}_")), "other")


def _kind(column: str) -> str:
    if column.startswith(PREDICTION_PREFIX) or column == ALERTS:
        return "prediction"
    return "segment" if column in SEGMENTS else "feature"


class InsufficientHistory(ValueError):
    """Too few rows on one side: drift cannot be measured yet."""


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


def with_predictions(
    features: pl.DataFrame,
    forecasts: pl.DataFrame | None,
    alerts: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Feature rows with what the champions made of them: the demand forecasts, one column
    per horizon (`forecasts`: resource_id, origin, horizon, forecast, as serving writes them),
    and the number of anomaly alerts on the resource in that hour (`alerts`: resource_id, ts,
    one row per alert, as serving writes them; 0 where none fired). `alerts` is None where
    the detector did not serve those days: the column is then left out, not filled with 0."""
    out = features
    if forecasts is not None and not forecasts.is_empty():
        wide = forecasts.pivot(
            on="horizon",
            index=["resource_id", "origin"],
            values="forecast",
            aggregate_function="mean",
        )
        wide = wide.rename({c: f"{PREDICTION_PREFIX}{c}" for c in wide.columns if c.isdigit()})
        out = out.join(
            wide.rename({"origin": "ts"}), on=list(KEYS), how="left", maintain_order="left"
        )
    if alerts is not None:
        hourly = alerts.group_by(
            "resource_id", pl.col("ts").dt.truncate("1h").cast(out.schema["ts"])
        ).agg(pl.len().cast(pl.Float64).alias(ALERTS))
        out = out.join(hourly, on=list(KEYS), how="left", maintain_order="left").with_columns(
            pl.col(ALERTS).fill_null(0.0)
        )
    return out


def same_weekday(reference: pl.DataFrame, current: pl.DataFrame) -> pl.DataFrame:
    """Reference rows of the current day's weekday that had a day of history. Without the
    weekday a Saturday would be compared with weekdays and drift every week; without the
    history, a deployment's first day (24-hour windows still filling) would stand in for a
    normal day. A young deployment waits until it has such rows."""
    weekdays = current["ts"].dt.weekday().unique().to_list()
    matched = reference.filter(pl.col("ts").dt.weekday().is_in(weekdays))
    if SETTLED in matched.columns:
        matched = matched.filter(pl.col(SETTLED).is_not_null())
    if matched.height < MIN_ROWS:
        names = ", ".join(WEEKDAYS[d - 1] for d in sorted(weekdays))
        raise InsufficientHistory(
            f"the reference holds {matched.height} rows of the same weekday ({names}) with a "
            f"day of history; drift needs {MIN_ROWS}"
        )
    return matched


def compared_columns(frame: pl.DataFrame) -> tuple[list[str], list[str]]:
    numerical = [
        c for c, t in frame.schema.items() if t.is_numeric() and c not in CALENDAR and c not in KEYS
    ]
    return numerical, [c for c in SEGMENTS if c in frame.columns]


def as_text_labels(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """`columns` with every character outside the identifier contract replaced by `?`."""
    outside = f"[^{IDENTIFIER_CHARACTERS}]"
    return frame.with_columns(pl.col(c).str.replace_all(outside, "?") for c in columns)


def _sample(frame: pl.DataFrame, rows: int, seed: int) -> pl.DataFrame:
    return frame.sample(n=rows, seed=seed) if frame.height > rows else frame


def _comparable(ref: pl.DataFrame, cur: pl.DataFrame, columns: list[str]) -> dict[str, str]:
    """Columns that cannot be compared, and why."""
    why = {}
    for c in columns:
        a, b = ref[c].drop_nulls(), cur[c].drop_nulls()
        if a.dtype.is_float():
            a, b = a.filter(a.is_finite()), b.filter(b.is_finite())
        if a.len() < MIN_ROWS or b.len() < MIN_ROWS:
            why[c] = f"fewer than {MIN_ROWS} values (reference {a.len()}, current {b.len()})"
        elif a.dtype.is_numeric() and a.min() == a.max():
            why[c] = "constant in the reference"
    return why


def _finite(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        pl.when(pl.col(c).is_finite()).then(pl.col(c)).alias(c)
        for c, t in frame.schema.items()
        if t.is_float()
    )


def _quality(ref: pl.DataFrame, cur: pl.DataFrame, columns: list[str]) -> dict[str, Any]:
    missing = {
        c: (cur[c].null_count() / max(cur.height, 1), ref[c].null_count() / max(ref.height, 1))
        for c in columns
    }
    out_of_range = {}
    for c, (low, high) in RANGES.items():
        if c in cur.columns:
            outside = pl.col(c) < low if high is None else ~pl.col(c).is_between(low, high)
            out_of_range[c] = int(cur.select(outside.sum()).item() or 0)
    new = {}
    for c in SEGMENTS:
        if c in cur.columns and c in ref.columns:
            unseen = set(cur[c].drop_nulls().unique()) - set(ref[c].drop_nulls().unique())
            if unseen:
                new[c] = sorted(unseen)
    return {"missing": missing, "out_of_range": out_of_range, "new_categories": new}


def _run_report(
    ref: pl.DataFrame,
    cur: pl.DataFrame,
    numerical: list[str],
    categorical: list[str],
    with_quality: bool,
):
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import MissingValueCount, OutListValueCount, OutRangeValueCount
    from evidently.presets import DataDriftPreset

    columns = [*numerical, *categorical]
    metrics: list[Any] = [
        DataDriftPreset(
            columns=columns,
            num_method=NUM_METHOD,
            cat_method=CAT_METHOD,
            threshold=COLUMN_THRESHOLD,
        )
    ]
    if with_quality:
        metrics += [MissingValueCount(column=c) for c in columns]
        metrics += [
            OutRangeValueCount(column=c, left=low, right=high if high is not None else 1e300)
            for c, (low, high) in RANGES.items()
            if c in numerical
        ]
        metrics += [
            OutListValueCount(column=c, values=sorted(ref[c].drop_nulls().unique().to_list()))
            for c in categorical
        ]
    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
    return Report(metrics).run(
        Dataset.from_pandas(cur.select(columns).to_pandas(), data_definition=definition),
        Dataset.from_pandas(ref.select(columns).to_pandas(), data_definition=definition),
    )


def _scores(snapshot) -> dict[str, float]:
    scores = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric.get("config", {})
        if config.get("type", "").endswith("ValueDrift") and config.get("column"):
            scores[config["column"]] = float(metric["value"])
    return scores


def _segment_shares(
    ref: pl.DataFrame, cur: pl.DataFrame, drifted: list[str], seed: int
) -> dict[str, float]:
    """Share of the day's most drifted columns (`drifted`, worst first, at most
    SEGMENT_COLUMNS) that drift within each segment's own rows. One Evidently report per
    segment value costs about as much as the day's whole report per column it holds, so the
    view by segment looks at the columns that moved most, not at all of them."""
    top = drifted[:SEGMENT_COLUMNS]
    shares = {}
    for segment in SEGMENTS:
        if segment not in cur.columns or segment not in ref.columns:
            continue
        for value in sorted(cur[segment].drop_nulls().unique().to_list()):
            r = _sample(ref.filter(pl.col(segment) == value), SEGMENT_SAMPLE_ROWS, seed)
            c = _sample(cur.filter(pl.col(segment) == value), SEGMENT_SAMPLE_ROWS, seed)
            skipped = _comparable(r, c, top)
            columns = [d for d in top if d not in skipped]
            if not columns:
                continue
            scores = _scores(_run_report(r, c, columns, [], with_quality=False))
            shares[f"{segment}={value}"] = sum(s > COLUMN_THRESHOLD for s in scores.values()) / len(
                scores
            )
    return shares


def feature_drift(
    reference: pl.DataFrame,
    current: pl.DataFrame,
    html_path: Path | None = None,
    sample_rows: int = SAMPLE_ROWS,
    seed: int = 7,
) -> DriftSummary:
    """Compare the day's model inputs (`current`) with the reference window's; optionally
    save Evidently's HTML report. Both frames: feature rows, optionally `with_predictions`."""
    numerical, categorical = (
        [c for c in found if c in reference.columns] for found in compared_columns(current)
    )
    # a second wall behind clean's identifier contract: Evidently writes category values into
    # an inline <script>, where `</script>` in a value would end it and run what follows
    reference, current = (as_text_labels(f, categorical) for f in (reference, current))
    quality = _quality(reference, current, numerical)  # on every row, before sampling
    ref = _finite(_sample(same_weekday(reference, current), sample_rows, seed))
    cur = _finite(_sample(current, sample_rows, seed))
    if ref.height < MIN_ROWS or cur.height < MIN_ROWS:
        raise InsufficientHistory(
            f"too few rows to compare (reference {ref.height}, current {cur.height}); "
            f"drift needs {MIN_ROWS} of each"
        )
    skipped = _comparable(ref, cur, [*numerical, *categorical])
    numerical = [c for c in numerical if c not in skipped]
    categorical = [c for c in categorical if c not in skipped]
    if not numerical:
        raise InsufficientHistory(f"no column has enough values to compare: {skipped}")
    snapshot = _run_report(ref, cur, numerical, categorical, with_quality=True)
    scores = _scores(snapshot)
    drifted = sorted(c for c, s in scores.items() if s > COLUMN_THRESHOLD)
    if html_path is not None:
        html_path.parent.mkdir(parents=True, exist_ok=True)
        snapshot.save_html(str(html_path))
    worst_first = sorted((d for d in drifted if d in numerical), key=lambda d: -scores[d])
    segments = _segment_shares(ref, cur, worst_first, seed)
    return DriftSummary(
        share=len(drifted) / len(scores),
        drifted=drifted,
        scores=scores,
        reference_rows=ref.height,
        current_rows=cur.height,
        segments=segments,
        not_compared=skipped,
        **quality,
    )


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
