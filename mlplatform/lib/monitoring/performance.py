"""Accuracy once actuals arrive: the champion's forecasts for a day against what happened."""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from mlplatform.lib.models.forecasting import Dataset, baselines, evaluate
from mlplatform.lib.models.training import forecast_metrics


def forecast_performance(booster, dataset: Dataset, training: dict[str, Any]) -> dict[str, Any]:
    """MAE of a day's forecasts whose actuals are in (`forecasting.day_dataset` for demand,
    `due_dataset` for cost), against the naive baselines, and relative to the model's own
    figures at training time (`training`: its registered metrics, `mae` and
    `mae_relative_to_best_baseline` of the hold-out).

    `skill_ratio_to_training` is what the performance check watches: the day's MAE relative
    to the best naive forecast of the same day, over the same at training time. A weekend or
    an incident makes every forecast worse, the naive ones too, so the raw MAE ratio swings
    by 1.5x on a steady deployment (docs/evaluation.md); the skill ratio moves when the model
    falls behind the naive forecasts, which is what a retrain can fix.
    """
    if dataset.frame.is_empty():
        raise ValueError("no forecast has its actual yet in this data")
    dataset = Dataset(dataset.frame, booster.feature_name(), dataset.spec)
    metrics = evaluate(booster, dataset)
    training_mae = float(training.get("mae", float("nan")))
    training_skill = float(training.get("mae_relative_to_best_baseline", float("nan")))
    metrics["training_mae"] = training_mae
    metrics["mae_ratio_to_training"] = _ratio(metrics["mae"], training_mae)
    metrics["training_skill"] = training_skill
    metrics["skill_ratio_to_training"] = _ratio(
        metrics.get("mae_relative_to_best_baseline", float("nan")), training_skill
    )
    metrics["scored_forecasts"] = dataset.frame.height
    return metrics


def served_performance(served: pl.DataFrame, dataset: Dataset) -> dict[str, float]:
    """What serving gave for `dataset`'s forecasts (`forecasting.day_dataset`: a day's whose
    actuals are in), from `served` (the day's serving rows: series, origin, horizon,
    forecast): their MAE and, on the same rows, over the best naive baseline's. These are the
    forecasts the day was served with: by the model in force then (an earlier version, or a
    naive forecast before the first champion), where `forecast_performance` scores today's
    champion. Empty where no served row has its actual in `dataset`."""
    spec = dataset.spec
    keys = [*spec.series, "origin", "horizon"]
    frame = dataset.frame.rename({spec.time: "origin"}).join(
        served.select(*keys, "forecast"), on=keys, how="inner"
    )
    if frame.is_empty():
        return {}
    truth = frame["_y_future"].cast(pl.Float64).to_numpy()
    metrics = forecast_metrics(
        truth, frame["forecast"].to_numpy(), baselines(Dataset(frame, [], spec))
    )
    return {
        "served_mae": metrics["mae"],
        "served_mae_relative_to_best_baseline": metrics.get(
            "mae_relative_to_best_baseline", float("nan")
        ),
        "served_scored_forecasts": frame.height,
    }


def _ratio(value: float, reference: float) -> float:
    return value / reference if reference and math.isfinite(reference) else float("nan")


def alert_quality(alerts: pl.DataFrame, labels: list[dict[str, Any]]) -> dict[str, float]:
    """Share of labelled anomalies with an alert, and share of alerts inside a labelled period."""
    frame = pl.DataFrame(
        labels,
        schema={
            "resource_id": pl.String,
            "start": pl.Datetime("us", "UTC"),
            "end": pl.Datetime("us", "UTC"),
        },
    )
    return label_recall(alerts, frame)


def label_recall(alerts: pl.DataFrame, labels: pl.DataFrame) -> dict[str, float]:
    """Share of labelled anomaly periods with an alert inside, and share of alerts inside one.
    `labels`: resource_id, start, end (UTC)."""
    flagged = alerts.select("resource_id", "ts").unique()
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


def incident_recall(incidents: pl.DataFrame, labels: pl.DataFrame) -> dict[str, float]:
    """Share of labelled anomaly events that reach an incident (one that holds one of the
    event's resources and overlaps its hours), and share of incidents that touch a labelled
    event. `labels`: event, resource_id, start, end (UTC); an event may span resources (a
    service outage is one event with a row per resource)."""
    if labels.is_empty() or incidents.is_empty():
        recall = 0.0 if not labels.is_empty() else float("nan")
        return {"events": float(labels["event"].n_unique()), "recall": recall, "precision": 0.0}
    held = (
        incidents.with_row_index("incident")
        .select("incident", "resources", pl.col("start").alias("from"), pl.col("end").alias("to"))
        .explode("resources", empty_as_null=True)
        .rename({"resources": "resource_id"})
    )
    pairs = labels.join(held, on="resource_id").filter(
        (pl.col("to") >= pl.col("start").dt.truncate("1h")) & (pl.col("from") < pl.col("end"))
    )
    return {
        "events": float(labels["event"].n_unique()),
        "recall": pairs["event"].n_unique() / labels["event"].n_unique(),
        "precision": pairs["incident"].n_unique() / incidents.height,
    }
