"""Train → register as challenger → compare with the champion on the same recent data →
promote only if better by the margin. Plain functions over the registry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from mlplatform.lib.anomaly_model import AnomalyModel, recent_mae, train_anomaly_model
from mlplatform.lib.forecasting import (
    Dataset,
    ForecastSpec,
    TrainedForecaster,
    build_dataset,
    evaluate,
    train,
)
from mlplatform.lib.registry import (
    CHAMPION,
    ModelVersion,
    PromotionDecision,
    Registry,
    decide_promotion,
)
from mlplatform.lib.training import SearchBudget


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


def champion_score(
    registry: Registry, spec: ForecastSpec, recent: Dataset
) -> tuple[ModelVersion | None, float | None]:
    """The champion's MAE on `recent`, or None where there is no champion. A champion that
    needs features the data no longer has cannot compete and scores infinity."""
    champion = registry.by_alias(spec.name, CHAMPION)
    if champion is None:
        return None, None
    booster = registry.load(spec.name, champion.version)
    features = booster.feature_name()
    if any(f not in recent.frame.columns for f in features):
        return champion, float("inf")
    return champion, float(evaluate(booster, Dataset(recent.frame, features, spec))["mae"])


def challenge(
    registry: Registry,
    spec: ForecastSpec,
    dataset: Dataset,
    trained: TrainedForecaster,
    margin: float,
    metadata: dict[str, Any],
) -> Outcome:
    recent = holdout(dataset, trained)
    _, incumbent = champion_score(registry, spec, recent)
    decision = decide_promotion(float(trained.metrics["mae"]), incumbent, margin)
    version = registry.register(
        spec.name,
        trained.booster.model_to_string(),
        metadata={
            **metadata,
            "features": trained.features,
            "params": trained.params,
            "rounds": trained.rounds,
            "metrics": trained.metrics,
            "search_trials": trained.search_trials,
            "search_seconds": round(trained.search_seconds, 1),
            "promotion": decision.reason,
        },
        metrics={k: v for k, v in trained.metrics.items() if isinstance(v, int | float)},
        params=trained.params,
    )
    if decision.promote:
        registry.promote(spec.name, version.version, decision.reason)
    return Outcome(registry.get(spec.name, version.version), decision, trained)


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
    champion_score = recent_mae(registry.load(name, champion.version), recent) if champion else None
    decision = decide_promotion(challenger_score, champion_score, margin)
    version = registry.register(
        name,
        model.booster.model_to_string(),
        metadata={
            **metadata,
            "features": model.features,
            "scale": model.scale,
            "threshold": model.threshold,
            "promotion": decision.reason,
        },
        metrics={**model.metrics, "recent_mae_symlog": challenger_score},
    )
    if decision.promote:
        registry.promote(name, version.version, decision.reason)
    return AnomalyOutcome(registry.get(name, version.version), decision, model)
