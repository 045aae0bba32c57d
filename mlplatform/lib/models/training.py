"""Training discipline shared by every model: time-ordered folds, a seeded search within a
budget, LightGBM with explicit threads, and metrics against naive baselines."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np


def model_threads() -> int:
    """`MLPLATFORM_MODEL_THREADS` (default 1): OpenMP threads per LightGBM fit or prediction.
    Up to four runs share the cores, and two 2-thread fits on 2 cores each ran 15x slower than
    alone (spin-waiting threads; docs/benchmarks.md), while one thread cost 1.0-1.4x alone.
    Raise it only where one run has the machine to itself."""
    text = os.environ.get("MLPLATFORM_MODEL_THREADS", "1")
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"MLPLATFORM_MODEL_THREADS must be a positive integer, got {text!r}")
    return int(text)


DEFAULT_THREADS = model_threads()


@dataclass(frozen=True)
class SearchBudget:
    """How much hyperparameter search a training run may spend."""

    trials: int = 20
    timeout_seconds: float = 120.0
    folds: int = 3
    seed: int = 7
    max_rounds: int = 400  # binds on long series only; 800 took training past 3 minutes
    threads: int = DEFAULT_THREADS
    search_rows: int = 40_000  # the search runs on a time-preserving subsample of this size;
    # the final fit uses every row before the holdout

    def __post_init__(self) -> None:
        if self.trials < 1 or self.folds < 2 or self.timeout_seconds <= 0:
            raise ValueError("need trials >= 1, folds >= 2 and a positive timeout")


@dataclass(frozen=True)
class Fold:
    train: np.ndarray  # row indices
    valid: np.ndarray


def expanding_folds(feature_time: np.ndarray, target_time: np.ndarray, n_folds: int) -> list[Fold]:
    """Expanding-window folds over time: fold k validates on block k+1 of the time range and
    trains on rows before it whose *target* time is also before it, so no label crosses the
    fold boundary (a 4-hour-ahead row at 22:00 does not train a fold validated from 00:00)."""
    times = np.unique(feature_time)
    if times.size < n_folds + 1:
        raise ValueError(f"{times.size} distinct times cannot make {n_folds} folds")
    edges = times[np.linspace(0, times.size, n_folds + 2, dtype=int)[1:-1]]
    folds = []
    for k in range(n_folds):
        start = edges[k]
        end = edges[k + 1] if k + 1 < len(edges) else None
        train = np.flatnonzero(target_time < start)
        in_block = feature_time >= start
        if end is not None:
            in_block &= feature_time < end
        valid = np.flatnonzero(in_block)
        if train.size and valid.size:
            folds.append(Fold(train, valid))
    if len(folds) < 2:
        raise ValueError("not enough history for time-ordered cross-validation")
    return folds


def mae(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.mean(np.abs(y - pred)))


def smape(y: np.ndarray, pred: np.ndarray) -> float:
    """Symmetric MAPE in percent; pairs where both are 0 count as exact."""
    denominator = np.abs(y) + np.abs(pred)
    ratio = np.divide(
        2 * np.abs(y - pred), denominator, out=np.zeros_like(denominator), where=denominator > 0
    )
    return float(100 * np.mean(ratio))


def naive_forecast(baselines: Mapping[str, np.ndarray], name: str) -> np.ndarray:
    """The naive forecast `name` as serving uses it: the baseline, and the last value where
    the baseline has none (a series younger than its season)."""
    values = baselines[name]
    return np.where(np.isnan(values), baselines["last_value"], values)


def forecast_metrics(
    y: np.ndarray, pred: np.ndarray, baselines: Mapping[str, np.ndarray]
) -> dict[str, float]:
    """MAE, sMAPE, each naive baseline's MAE, MAE relative to the best baseline, and (where
    `last_value` is one of `baselines`) relative to the naive forecast serving would use."""
    metrics = {"mae": mae(y, pred), "smape": smape(y, pred)}
    scores = {}
    for name, values in baselines.items():
        ok = ~np.isnan(values)
        # baselines are scored on the rows they can forecast, the model on the same rows
        scores[name] = (mae(y[ok], values[ok]), mae(y[ok], pred[ok])) if ok.any() else None
        if ok.any():
            metrics[f"mae_baseline_{name}"] = scores[name][0]
    valid = {k: v for k, v in scores.items() if v is not None}
    if valid:
        best = min(valid, key=lambda k: valid[k][0])
        baseline_mae, model_mae = valid[best]
        metrics["best_baseline"] = best  # type: ignore[assignment]
        metrics["mae_relative_to_best_baseline"] = (
            model_mae / baseline_mae if baseline_mae else float("nan")
        )
    if "last_value" in baselines:
        # What serving falls back to without a champion: a baseline where it has a value, the
        # last value where the series is younger than its season. Unlike the figures above,
        # scored on every row, as it would serve them.
        filled = {n: naive_forecast(baselines, n) for n in baselines}
        fallback = min(filled, key=lambda n: mae(y, filled[n]))
        fallback_mae = mae(y, filled[fallback])
        metrics["naive_fallback"] = fallback  # type: ignore[assignment]
        metrics["mae_naive_fallback"] = fallback_mae
        metrics["mae_relative_to_naive_fallback"] = (
            metrics["mae"] / fallback_mae if fallback_mae else float("nan")
        )
    return metrics


BASE_PARAMS: dict[str, object] = {
    "objective": "regression_l1",
    "verbosity": -1,
    "deterministic": True,
    "force_col_wise": True,
    "max_bin": 63,
    # lets one binned Dataset serve trials with different min_data_in_leaf
    "feature_pre_filter": False,
}


def _lgb():
    import lightgbm as lgb  # heavy import, kept out of module import

    return lgb


def fit_booster(
    X: np.ndarray,
    y: np.ndarray,
    params: Mapping[str, object],
    rounds: int,
    feature_names: list[str],
    threads: int,
):  # -> lightgbm.Booster
    lgb = _lgb()
    full = {**BASE_PARAMS, **params, "num_threads": threads, "seed": params.get("seed", 7)}
    train_set = lgb.Dataset(X, y, feature_name=feature_names, free_raw_data=True)
    return lgb.train(full, train_set, num_boost_round=rounds)


@dataclass
class SearchResult:
    params: dict[str, object]
    rounds: int
    cv_mae: float
    trials: int
    seconds: float


def search(
    X: np.ndarray,
    y: np.ndarray,
    folds: list[Fold],
    feature_names: list[str],
    budget: SearchBudget,
    score: Callable[[np.ndarray, np.ndarray, np.ndarray], float] | None = None,
) -> SearchResult:
    """Seeded Optuna (TPE) search of LightGBM parameters, scored by time-ordered CV MAE.

    `score(valid_rows, y_valid, pred)` may map predictions back to the original scale.
    Stops at `budget.trials` trials or `budget.timeout_seconds`, whichever comes first.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    score = score or (lambda rows, y_true, pred: mae(y_true, pred))
    started = time.perf_counter()

    lgb = _lgb()
    dataset_params = {**BASE_PARAMS, "num_threads": budget.threads}
    binned = []
    for fold in folds:
        train_set = lgb.Dataset(
            X[fold.train],
            y[fold.train],
            feature_name=feature_names,
            params=dataset_params,
            free_raw_data=False,
        )
        # the same params as its reference, or LightGBM warns that it overrides them
        valid_set = lgb.Dataset(
            X[fold.valid], y[fold.valid], reference=train_set, params=dataset_params
        )
        binned.append((fold, train_set.construct(), valid_set.construct()))
    max_leaf = max(20, min(400, int(min(f.train.size for f in folds) / 20)))

    def objective(trial: optuna.Trial) -> float:
        params = {
            "learning_rate": trial.suggest_float("learning_rate", 0.05, 0.3, log=True),
            "num_leaves": trial.suggest_int("num_leaves", 15, 63, log=True),
            "min_data_in_leaf": trial.suggest_int("min_data_in_leaf", 5, max_leaf, log=True),
            "feature_fraction": trial.suggest_float("feature_fraction", 0.5, 1.0),
            "bagging_fraction": trial.suggest_float("bagging_fraction", 0.6, 1.0),
            "bagging_freq": 1,
            "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 10.0, log=True),
            "seed": budget.seed,
        }
        losses, rounds = [], []
        for fold, train_set, valid_set in binned:
            booster = lgb.train(
                {**dataset_params, **params},
                train_set,
                num_boost_round=budget.max_rounds,
                valid_sets=[valid_set],
                callbacks=[lgb.early_stopping(20, verbose=False)],
            )
            pred = booster.predict(X[fold.valid], num_threads=budget.threads)
            losses.append(score(fold.valid, y[fold.valid], pred))
            rounds.append(booster.best_iteration or budget.max_rounds)
        trial.set_user_attr("rounds", int(np.mean(rounds)))
        return float(np.mean(losses))

    sampler = optuna.samplers.TPESampler(seed=budget.seed)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    study.optimize(objective, n_trials=budget.trials, timeout=budget.timeout_seconds)
    best = study.best_trial
    return SearchResult(
        params={**best.params, "bagging_freq": 1, "seed": budget.seed},
        rounds=int(best.user_attrs["rounds"]),
        cv_mae=float(best.value),
        trials=len(study.trials),
        seconds=time.perf_counter() - started,
    )


def doubling(n: int, first: int) -> list[int]:
    """Row counts first, 2·first, 4·first, ... below n: where a series' own model is refitted,
    so what it predicts at a row never depends on how long the series is."""
    points, c = [], first
    while c < n:
        points.append(c)
        c *= 2
    return points


def subsample_indices(n: int, size: int, seed: int) -> np.ndarray:
    """A seeded, sorted subsample (sorted keeps the time order of the rows)."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))
