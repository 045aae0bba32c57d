"""The platform's anomaly detector over `features/resource_hourly`: one LightGBM model of the
hour-to-hour change of symlog(request_count) from past-only features (lags, calendar); its
surprise |residual| / scale maps to a score in [0, 1], and the alert threshold is a high
quantile of the scores on the training data itself, so no label is needed to set it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from mlplatform.lib.models.forecasting import symlog
from mlplatform.lib.models.training import fit_booster, mae

TARGET = "request_count"
ALERT_QUANTILE = 0.999
PARAMS = {
    "objective": "huber",
    "learning_rate": 0.1,
    "num_leaves": 31,
    "min_data_in_leaf": 50,
    "seed": 7,
}


def anomaly_inputs(features: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """Rows with a previous hour, their model inputs (all from before t, or t's calendar),
    and the target (symlog change over the hour)."""
    lag1 = pl.col("request_count_lag_1h")

    def rel(c: str) -> pl.Expr:
        return pl.col(c).map_batches(
            lambda s: pl.Series(symlog(s.to_numpy())), return_dtype=pl.Float64
        )

    frame = features.filter(lag1.is_not_null() & pl.col(TARGET).is_not_null()).with_columns(
        _level=rel("request_count_lag_1h"),
        _y=rel(TARGET),
        _yesterday=rel("request_count_lag_24h"),
        _last_week=rel("request_count_lag_168h"),
    )
    frame = frame.with_columns(
        d_yesterday=pl.col("_yesterday") - pl.col("_level"),
        d_last_week=pl.col("_last_week") - pl.col("_level"),
        level=pl.col("_level"),
        cpu_lag_change=pl.col("cpu_utilization_lag_1h") - pl.col("cpu_utilization_lag_24h"),
        _target=pl.col("_y") - pl.col("_level"),
    )
    names = [
        "d_yesterday",
        "d_last_week",
        "level",
        "cpu_lag_change",
        "cpu_utilization_lag_1h",
        "hour_of_day",
        "day_of_week",
        "is_weekend",
        "is_business_hour",
    ]
    return frame, names


def _surprise_score(z: np.ndarray) -> np.ndarray:
    """|z| / (|z| + 3): 0.5 at three robust standard deviations, never saturating at 1."""
    z = np.abs(z)
    return z / (z + 3.0)


@dataclass
class AnomalyModel:
    booster: Any
    features: list[str]
    scale: float
    threshold: float
    metrics: dict[str, float]


def train_anomaly_model(
    features: pl.DataFrame, rounds: int = 150, threads: int = 2
) -> AnomalyModel:
    frame, names = anomaly_inputs(features)
    if frame.height < 100:
        raise ValueError(f"anomaly detector: {frame.height} usable rows, need at least 100")
    X = frame.select(names).cast(pl.Float64).to_numpy()
    y = frame["_target"].to_numpy()
    booster = fit_booster(X, y, PARAMS, rounds, names, threads)
    residual = y - booster.predict(X, num_threads=threads)
    scale = float(1.4826 * np.median(np.abs(residual - np.median(residual)))) or 1e-6
    scores = _surprise_score(residual / scale)
    threshold = float(np.quantile(scores, ALERT_QUANTILE))
    return AnomalyModel(
        booster,
        names,
        scale,
        threshold,
        {
            "mae_symlog": mae(y, booster.predict(X, num_threads=threads)),
            "training_rows": float(frame.height),
        },
    )


def score(
    booster, features: pl.DataFrame, scale: float, threshold: float, threads: int = 2
) -> pl.DataFrame:
    """resource_id, ts, observed and expected request_count, anomaly_score, is_anomaly."""
    frame, _ = anomaly_inputs(features)
    names = booster.feature_name()
    if frame.is_empty():
        return frame.select("resource_id", "ts").with_columns(
            observed=pl.lit(None, pl.Float64),
            expected=pl.lit(None, pl.Float64),
            anomaly_score=pl.lit(None, pl.Float64),
            is_anomaly=pl.lit(None, pl.Boolean),
        )
    change = booster.predict(frame.select(names).cast(pl.Float64).to_numpy(), num_threads=threads)
    residual = frame["_target"].to_numpy() - change
    level = frame["_level"].to_numpy()
    scores = _surprise_score(residual / scale)
    return frame.select("resource_id", "ts", pl.col(TARGET).alias("observed")).with_columns(
        expected=pl.Series(np.sign(level + change) * np.expm1(np.abs(level + change))),
        anomaly_score=pl.Series(scores),
        is_anomaly=pl.Series(scores >= threshold),
    )


def recent_mae(booster, features: pl.DataFrame, threads: int = 2) -> float:
    frame, _ = anomaly_inputs(features)
    X = frame.select(booster.feature_name()).cast(pl.Float64).to_numpy()
    return mae(frame["_target"].to_numpy(), booster.predict(X, num_threads=threads))


def label_recall(alerts: pl.DataFrame, labels: pl.DataFrame) -> dict[str, float]:
    """Share of labelled anomaly periods with an alert inside, and share of alerts inside one.
    `labels`: resource_id, start, end (UTC)."""
    flagged = alerts.filter("is_anomaly").select("resource_id", "ts")
    if labels.is_empty():
        return {"labelled": 0.0, "recall": float("nan"), "precision": float("nan")}
    pairs = (
        labels.with_row_index("label")
        .join(flagged, on="resource_id", how="inner")
        .filter(
            (pl.col("ts") >= pl.col("start").dt.truncate("1h")) & (pl.col("ts") < pl.col("end"))
        )
    )
    hit_labels = pairs["label"].n_unique()
    hit_alerts = pairs.select("resource_id", "ts").n_unique()
    return {
        "labelled": float(labels.height),
        "recall": hit_labels / labels.height,
        "precision": hit_alerts / flagged.height if flagged.height else float("nan"),
    }
