"""Train → register as challenger → compare with the champion on the same recent data →
promote only if better by the margin. Plain functions over the registry."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import polars as pl

from mlplatform.lib.models.detector import FEATURES, DetectorSettings
from mlplatform.lib.models.detector_tables import fit_table, metrics_of, table_error
from mlplatform.lib.models.forecasting import (
    COST,
    DEMAND,
    Dataset,
    ForecastSpec,
    TrainedForecaster,
    build_dataset,
    evaluate,
    train,
)
from mlplatform.lib.models.registry import (
    CHALLENGER,
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


def naive_fallback(registry: Registry, name: str) -> str | None:
    """The naive forecast to serve for a forecaster without a champion: the one its latest
    challenger was measured against and did not beat; None where nothing was trained yet."""
    challenger = registry.by_alias(name, CHALLENGER)
    if challenger is None:
        return None
    metrics = registry.metadata(name, challenger.version).get("metrics", {})
    return str(metrics.get("naive_fallback", "last_value"))


# Forecasters whose serving has a naive fallback: withdrawing their champion leaves them served.
SERVED_WITHOUT_CHAMPION = (DEMAND.name, COST.name)


def demote(registry: Registry, name: str, reason: str) -> tuple[int, str]:
    """Withdraw a forecaster's champion (`Registry.demote`): (its version, the naive forecast
    now served). The anomaly detector has no fallback, so it is refused: without a champion
    no alert would be raised."""
    if name not in SERVED_WITHOUT_CHAMPION:
        raise LookupError(
            f"{name} has no naive fallback: without a champion nothing would be served; "
            "promote or roll back to another version instead"
        )
    version = registry.demote(name, reason)
    return version, str(naive_fallback(registry, name))


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
    decision = decide_promotion(
        float(trained.metrics["mae"]),
        incumbent,
        margin,
        naive_ratio=float(trained.metrics.get("mae_relative_to_naive_fallback", math.nan)),
    )
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
    settings: DetectorSettings


def train_and_challenge_anomaly(
    registry: Registry,
    history: pl.DataFrame,
    recent: pl.DataFrame,
    margin: float,
    metadata: dict[str, Any],
    settings: DetectorSettings | None = None,
) -> AnomalyOutcome:
    """Fit the detector's one-step model on every series of `history` (the clean hourly
    tables as `detector_tables.observations`);
    challenger and champion are compared on `recent` (never trained on) by their one-step
    error. The settings travel in the version's metadata, so serving scores with them."""
    name = "anomaly_detector"
    settings = settings or DetectorSettings()
    booster = fit_table(history, settings)
    challenger_score = table_error(booster, recent, settings)
    champion = registry.by_alias(name, CHAMPION)
    incumbent = None
    if champion is not None:
        incumbent = table_error(registry.load(name, champion.version), recent, settings)
    decision = decide_promotion(challenger_score, incumbent, margin)
    version = register_and_decide(
        registry,
        name,
        booster.model_to_string(),
        decision,
        metadata={
            **metadata,
            "features": list(FEATURES),
            "metrics_watched": metrics_of(history),
            "settings": asdict(settings),
        },
        metrics={"recent_one_step_mae_symlog": challenger_score},
    )
    return AnomalyOutcome(version, decision, settings)
