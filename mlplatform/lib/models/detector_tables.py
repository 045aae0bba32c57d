"""The anomaly detector (`detector.py`) over the platform's clean hourly tables: one series per
resource and metric, for every metric a source sent (the catalog's, in the wide table, and any
other, in the long one)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, time

import numpy as np
import polars as pl

from mlplatform.lib.ingest.catalog import METRICS
from mlplatform.lib.models import detector
from mlplatform.lib.models.detector import DetectorSettings

HOURS_PER_DAY = 24
ALERT_COLUMNS = {
    "resource_id": pl.String,
    "metric": pl.String,
    "ts": pl.Datetime("us", "UTC"),
    "value": pl.Float64,
    "anomaly_score": pl.Float64,
    "signal": pl.String,
    "elevated_hours": pl.Int64,
    "seen_hours": pl.Int64,
}
# How long an excursion lasted, read by the incidents: of the alert's hour and the ones after
# it (PERSISTENCE_ROWS in all), how many have landed (seen_hours) and how many of those scored
# ELEVATED_SCORE or more (elevated_hours). Noise is one hour; a stuck metric or a surge stays.
PERSISTENCE_ROWS = 6
ELEVATED_SCORE = 0.5  # an alert's level: below it, novelty's ordinary days reach 0.4


def history_days(settings: DetectorSettings) -> int:
    """Days before a scored day that the detector reads on hourly data (its memory)."""
    return math.ceil(settings.memory(HOURS_PER_DAY) / HOURS_PER_DAY)


OBSERVATION_COLUMNS = {
    "resource_id": pl.String,
    "metric": pl.String,
    "ts": pl.Datetime("us", "UTC"),
    "value": pl.Float64,
}


def observations(hourly: pl.DataFrame, other: pl.DataFrame | None = None) -> pl.DataFrame:
    """Every metric's values as long rows (OBSERVATION_COLUMNS, no nulls): the catalog's columns
    of the wide hourly table, then `other` (clean/other_metrics_hourly), if given."""
    parts = [
        hourly.select("resource_id", pl.lit(m).alias("metric"), "ts", pl.col(m).alias("value"))
        for m in METRICS
        if m in hourly.columns
    ]
    if other is not None:
        parts.append(other.select(list(OBSERVATION_COLUMNS)))
    frames = [p.cast(OBSERVATION_COLUMNS).drop_nulls() for p in parts]  # type: ignore[arg-type]
    return pl.concat([pl.DataFrame(schema=OBSERVATION_COLUMNS), *frames])


def metrics_of(observed: pl.DataFrame) -> list[str]:
    """The metrics `observations` holds values of: the catalog's first, then the others."""
    present = set(observed["metric"].unique())
    return [m for m in METRICS if m in present] + sorted(present - set(METRICS))


def series(observed: pl.DataFrame) -> Iterator[tuple[str, str, pl.DataFrame]]:
    """(resource_id, metric, ts/value frame in time order) for every series of `observations`."""
    order = {m: i for i, m in enumerate(metrics_of(observed))}
    keyed = observed.with_columns(
        _order=pl.col("metric").replace_strict(order, return_dtype=pl.Int64)
    )
    for (_, resource, metric), frame in keyed.sort("_order", "resource_id", "ts").group_by(
        "_order", "resource_id", "metric", maintain_order=True
    ):
        yield str(resource), str(metric), frame.select("ts", "value")


def _arrays(frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    ts = frame["ts"].dt.replace_time_zone(None).to_numpy()
    return frame["value"].cast(pl.Float64).to_numpy(), ts


def fit_table(observed: pl.DataFrame, settings: DetectorSettings):  # -> lightgbm.Booster
    """One one-step model over every series of `observations`."""
    return detector.fit([_arrays(f) for _, _, f in series(observed)], settings)


def table_error(booster, observed: pl.DataFrame, settings: DetectorSettings) -> float:
    """The model's mean absolute one-step error (symlog) over every series of `observations`."""
    return detector.one_step_error(
        booster, [_arrays(f) for _, _, f in series(observed)], settings.threads
    )


def persistence(score: np.ndarray) -> dict[str, pl.Series]:
    """elevated_hours and seen_hours of every row of one series (see ALERT_COLUMNS)."""
    ahead = pl.Series((score >= ELEVATED_SCORE).astype(np.int64)).reverse()
    seen = pl.Series(np.ones(score.size, dtype=np.int64)).reverse()
    window = {"window_size": PERSISTENCE_ROWS, "min_samples": 1}
    return {
        "elevated_hours": ahead.rolling_sum(**window).reverse(),
        "seen_hours": seen.rolling_sum(**window).reverse(),
    }


def alerts_by_day(
    observed: pl.DataFrame, days: list[date], booster, settings: DetectorSettings
) -> tuple[dict[date, pl.DataFrame], dict[date, int]]:
    """Each day's alerts (ALERT_COLUMNS) and scored rows, from `observations` holding the days
    and their history. Each series is scored once over the whole span: every score reads only
    its memory, so a day comes out as it would from that day's history alone."""
    first = datetime.combine(min(days), time(), tzinfo=UTC)
    parts = [pl.DataFrame(schema={**ALERT_COLUMNS, "is_anomaly": pl.Boolean})]
    found = list(series(observed))
    arrays = [_arrays(frame) for _, _, frame in found]
    errors = detector.residuals_of_many(arrays, booster, settings.threads)
    for (resource, metric, frame), (values, ts), e in zip(found, arrays, errors, strict=True):
        first_wanted = frame["ts"].search_sorted(first, side="left")
        result = detector.score(values, ts, booster, settings, first_wanted, e)
        parts.append(
            frame.with_columns(
                resource_id=pl.lit(resource),
                metric=pl.lit(metric),
                anomaly_score=pl.Series(result.score),
                signal=pl.Series(result.signal),
                is_anomaly=pl.Series(result.is_anomaly),
                **persistence(result.score),
            )
            .filter(pl.col("ts") >= first)
            .select(*ALERT_COLUMNS, "is_anomaly")
        )
    rows = pl.concat(parts, how="vertical_relaxed").with_columns(day=pl.col("ts").dt.date())
    alerts, scored = {}, {}
    for day in days:
        of_day = rows.filter(pl.col("day") == day)
        scored[day] = of_day.height
        alerts[day] = (
            of_day.filter("is_anomaly")
            .select(list(ALERT_COLUMNS))
            .cast(ALERT_COLUMNS)  # type: ignore[arg-type]
            .sort("ts", "resource_id", "metric")
        )
    return alerts, scored
