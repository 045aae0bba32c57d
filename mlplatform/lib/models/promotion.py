"""Train → register as challenger → compare with the champion on the same recent data →
promote only if better by the margin. Plain functions over the registry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from mlplatform.lib.models.anomaly_model import AnomalyModel, recent_mae, train_anomaly_model
from mlplatform.lib.models.forecasting import (
    Dataset,
    ForecastSpec,
    TrainedForecaster,
    build_dataset,
    evaluate,
    train,
)
from mlplatform.lib.models.registry import (
    CHAMPION,
    ModelVersion,
    PromotionDecision,
    Registry,
    decide_promotion,
)
from mlplatform.lib.models.training import SearchBudget


@dataclass(frozen=True)
class Outcome:
    version: ModelVersion
    decision: PromotionDecision
    trained: TrainedForecaster


def holdout(dataset: Dataset, trained: TrainedForecaster) -> Dataset:
    """The most recent rows the challenger never trained on."""
    times = dataset.frame[dataset.spec.time].cast(pl.Datetime("us")).dt.epoch("us")
    return Dataset(
        dataset.frame.filter(times >= trained.evaluation_start), dataset.features, dataset.spec
    )


def champion_score(registry: Registry, spec: ForecastSpec, recent: Dataset) -> float | None:
    """The champion's MAE on `recent`, or None where there is no champion. A champion that
    needs features the data no longer has cannot compete and scores infinity."""
    champion = registry.by_alias(spec.name, CHAMPION)
    if champion is None:
        return None
    booster = registry.load(spec.name, champion.version)
    features = booster.feature_name()
    if any(f not in recent.frame.columns for f in features):
        return float("inf")
    return float(evaluate(booster, Dataset(recent.frame, features, spec))["mae"])


def register_and_decide(
    registry: Registry,
    name: str,
    model_text: str,
    decision: PromotionDecision,
    metadata: dict[str, Any],
    metrics: dict[str, Any],
    params: dict[str, Any] | None = None,
) -> ModelVersion:
    """Register the challenger (with the decision in its metadata) and promote it if decided."""
    version = registry.register(
        name,
        model_text,
        metadata={**metadata, "promotion": decision.reason},
        metrics=metrics,  # register keeps the numeric ones
        params=params,
    )
    if decision.promote:
        registry.promote(name, version.version, decision.reason)
    return registry.get(name, version.version)


def challenge(
    registry: Registry,
    spec: ForecastSpec,
    dataset: Dataset,
    trained: TrainedForecaster,
    margin: float,
    metadata: dict[str, Any],
) -> Outcome:
    recent = holdout(dataset, trained)
    incumbent = champion_score(registry, spec, recent)
    decision = decide_promotion(float(trained.metrics["mae"]), incumbent, margin)
    version = register_and_decide(
        registry,
        spec.name,
        trained.booster.model_to_string(),
        decision,
        metadata={
            **metadata,
            "features": trained.features,
            "params": trained.params,
            "rounds": trained.rounds,
            "metrics": trained.metrics,
            "search_trials": trained.search_trials,
            "search_seconds": round(trained.search_seconds, 1),
        },
        metrics=trained.metrics,
        params=trained.params,
    )
    return Outcome(version, decision, trained)


def train_and_challenge(
    registry: Registry,
    spec: ForecastSpec,
    table: pl.DataFrame,
    budget: SearchBudget,
    margin: float,
    metadata: dict[str, Any],
) -> Outcome:
    dataset = build_dataset(table, spec)
    return challenge(registry, spec, dataset, train(dataset, budget), margin, metadata)


@dataclass(frozen=True)
class AnomalyOutcome:
    version: ModelVersion
    decision: PromotionDecision
    model: AnomalyModel


def train_and_challenge_anomaly(
    registry: Registry,
    history: pl.DataFrame,
    recent: pl.DataFrame,
    margin: float,
    metadata: dict[str, Any],
) -> AnomalyOutcome:
    """Train on `history`; challenger and champion are compared on `recent` (never trained on)
    by their one-step error; the threshold and scale travel in the version's metadata."""
    name = "anomaly_detector"
    model = train_anomaly_model(history)
    challenger_score = recent_mae(model.booster, recent)
    champion = registry.by_alias(name, CHAMPION)
    incumbent = recent_mae(registry.load(name, champion.version), recent) if champion else None
    decision = decide_promotion(challenger_score, incumbent, margin)
    version = register_and_decide(
        registry,
        name,
        model.booster.model_to_string(),
        decision,
        metadata={
            **metadata,
            "features": model.features,
            "scale": model.scale,
            "threshold": model.threshold,
        },
        metrics={**model.metrics, "recent_mae_symlog": challenger_score},
    )
    return AnomalyOutcome(version, decision, model)
