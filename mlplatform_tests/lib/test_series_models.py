"""The series anomaly detector and forecaster: causal, scored by NAB's rules, better than naive."""

import numpy as np
import pytest

from benchmarks.forecast_evaluation import relative_to_best_naive
from benchmarks.nab_scoring import corpus_score, score_file
from mlplatform.lib.features.engineering import resource_hourly_features
from mlplatform.lib.models.detector import DetectorSettings, score_causally
from mlplatform.lib.models.forecasting import build_dataset
from mlplatform.lib.models.series_forecast import (
    SeriesForecastSettings,
    best_naive_so_far,
    guarded_by_naive,
    naive_forecasts,
    rolling_origin_forecast,
    series_spec,
    series_table,
)
from mlplatform.lib.models.training import SearchBudget, mae

FAST_DETECTOR = DetectorSettings(
    first_fit=200, residual_window=100, surprise_history=300, novelty_record=200, rounds=30
)
# Bounded by trials alone: a time limit hit on a busy machine would fit another model and
# make the causality comparison fail on load, not on a leak.
FAST_FORECAST = SeriesForecastSettings(
    first_fit=300, budget=SearchBudget(trials=3, timeout_seconds=3600)
)


def seasonal_series(n: int = 1400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Daily seasonality on a wandering level, with noise: hard for every naive rule."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    level = np.cumsum(rng.normal(0, 0.5, n))
    values = 100 + level + 30 * np.sin(2 * np.pi * t / 48) + rng.normal(0, 2, n)
    timestamps = np.datetime64("2026-01-01T00:00") + t * np.timedelta64(30, "m")
    return values, timestamps


def test_detector_is_causal():
    values, ts = seasonal_series()
    k = 900
    full = score_causally(values, ts, FAST_DETECTOR).score
    cut = score_causally(values[:k], ts[:k], FAST_DETECTOR).score
    altered_values = values.copy()
    altered_values[k:] *= 5
    altered = score_causally(altered_values, ts, FAST_DETECTOR).score
    np.testing.assert_array_equal(full[:k], cut)
    np.testing.assert_array_equal(full[:k], altered[:k])
    # the same past, and only the change fires: nothing before row k, the jump at it
    assert full[:k].max() < 0.5 <= altered[k]


def test_a_stuck_metric_alerts_once_and_a_series_that_often_repeats_does_not():
    values, ts = seasonal_series()
    stuck = values.copy()
    stuck[1200:1230] = stuck[1199]  # the agent hangs: its last reading, 15 hours long
    scored = score_causally(stuck, ts, FAST_DETECTOR)
    assert not score_causally(values, ts, FAST_DETECTOR).is_anomaly[1100:].any()
    fired = np.flatnonzero(scored.is_anomaly[1100:]) + 1100
    rows = FAST_DETECTOR.flat_rows(48)  # 4 hours of half-hourly rows
    assert fired.tolist() == [1199 + rows - 1]  # once the run is 4 hours long, then suppressed
    assert scored.signal[fired[0]] == "flatline"
    # a count of rare events: zeros for hours at a time is its normal, not a stuck metric
    rng = np.random.default_rng(3)
    sparse = np.where(rng.random(values.size) < 0.1, rng.poisson(5, values.size), 0.0)
    quiet = score_causally(sparse.astype(float), ts, FAST_DETECTOR)
    assert "flatline" not in set(quiet.signal[quiet.is_anomaly])


def test_detector_alerts_do_not_move_with_last_place_changes():
    """Machines differ in the last bits of a rolling spread or a logarithm. A sparse series
    (mostly zeros, as disk writes or key rotations are) turned such differences into other
    alerts until features and targets were rounded (`detector.DECIMALS`): 1e-15 relative
    changes here altered 1-3 alert rows (of 5 alerts) before the rounding."""
    rng = np.random.default_rng(0)
    n = 4000
    ts = np.datetime64("2026-01-01T00:00") + np.arange(n) * np.timedelta64(5, "m")
    busy = ((np.arange(n) % 288) > 96) & ((np.arange(n) % 288) < 216)
    fires = rng.random(n) < np.where(busy, 0.3, 0.05)
    values = np.where(fires, np.round(rng.gamma(2.0, 0.5, n), 3), 0.0)
    alerts = score_causally(values, ts).is_anomaly
    assert alerts.sum() >= 3
    for seed in range(3):
        nudged = values * (1 + 1e-15 * np.random.default_rng(seed).standard_normal(n))
        np.testing.assert_array_equal(score_causally(nudged, ts).is_anomaly, alerts)


def test_detector_finds_an_injected_spike_without_flooding():
    """On a steady level (a wandering one sets new records, which the range signal reports)."""
    rng = np.random.default_rng(1)
    t = np.arange(1400)
    values = 100 + 30 * np.sin(2 * np.pi * t / 48) + rng.normal(0, 2, t.size)
    ts = np.datetime64("2026-01-01T00:00") + t * np.timedelta64(30, "m")
    values[1000:1004] += 60
    scored = score_causally(values, ts, FAST_DETECTOR)
    score, flagged = scored.score, scored.is_anomaly
    assert flagged[1000:1010].any()
    assert flagged.sum() <= 4
    assert score[1000:1010].max() > np.percentile(score[300:990], 99)


def test_forecaster_is_causal_and_beats_naive():
    values, ts = seasonal_series(seed=2)
    k = 1000
    full = rolling_origin_forecast(values, ts, 4, FAST_FORECAST).forecasts
    altered_values = values.copy()
    altered_values[k:] = 0
    altered = rolling_origin_forecast(altered_values, ts, 4, FAST_FORECAST).forecasts
    cut = rolling_origin_forecast(values[:k], ts[:k], 4, FAST_FORECAST).forecasts
    np.testing.assert_array_equal(full[:k], altered[:k])
    np.testing.assert_array_equal(full[:k], cut)
    # before the first model (300 rows here), the naive forecast that has been best so far
    np.testing.assert_array_equal(
        full[:300], best_naive_so_far(values, naive_forecasts(values, ts, 4))[:300]
    )
    assert not np.isnan(full).any()
    # scored from row 420, the 30 % warm-up
    assert max(relative_to_best_naive(values, ts, full)) < 1


def test_nab_scoring_rules():
    windows = [(300, 319)]
    n = 1000
    none = score_file([False] * n, windows)
    assert none.normalised() == pytest.approx(0.0)
    early = [False] * n
    early[300] = True
    assert score_file(early, windows).normalised() == pytest.approx(100.0, abs=1e-9)
    late = [False] * n
    late[319] = True
    late_score = score_file(late, windows).normalised()
    assert 0 < late_score < 100
    noisy = early.copy()
    noisy[700] = True  # a false positive far from the window costs the fp weight
    assert score_file(noisy, windows).raw == pytest.approx(1.0 - 0.11)
    in_probation = [False] * n
    in_probation[50] = True  # detections in the first 15 % are not scored
    assert score_file(in_probation, windows).false_positives == 0
    assert score_file([False] * n, [(10, 20)]).windows == 0  # a window inside probation


def test_nab_development_score_holds(nab_dir):
    """The default detector on the 15 development files its design was chosen on (a tuned
    figure): 70.3, above the issue's 70, and 67.2 when each file's thresholds are chosen on
    the other files' labels only (docs/evaluation.md: `python -m benchmarks.nab_evaluation`).
    Copies nudged far below any metric's precision score 69.9-73.8: one borderline window."""
    from benchmarks.nab_evaluation import leave_one_file_out, load

    settings = DetectorSettings()
    files = load(nab_dir, settings)
    assert len(files) == 15
    assert corpus_score([f.score(settings) for f in files]) > 70
    held_out, _ = leave_one_file_out(files, settings)
    assert held_out > 67


def test_nab_short_emulation_score_holds(nab_dir):
    """Short series made from the development files (`python -m benchmarks.nab_short`): the
    design for short files was chosen on the coarse and cut ones (tuned: 65.0 and 66.8; the
    coarse kind scored 67.8 on an earlier machine, before features were rounded); the
    early-anomaly, gappy and early-glitch ones were scored for that design (64.5, 67.0 and
    53.9: the glitch is what the design misses, docs/evaluation.md)."""
    from benchmarks.nab_short import kind_scores, load

    settings = DetectorSettings()
    files = load(nab_dir, settings)
    assert len(files) == 140
    scores = kind_scores(files, [f.score(settings) for f in files])
    assert scores["coarse"] > 64.5
    assert scores["cut"] > 66
    assert scores["early"] > 64
    assert scores["gappy"] > 66
    assert scores["glitch"] > 53


def test_nab_validation_score_holds(nab_validation_dir):
    """The 24 validation files, never tuned on: the measured 62.6 must not fall (the issue's
    target is 75; docs/evaluation.md says what is missing; nudged copies score 61.1-65.1)."""
    from benchmarks.nab_evaluation import load

    settings = DetectorSettings()
    files = load(nab_validation_dir, settings)
    assert len(files) == 24
    assert corpus_score([f.score(settings) for f in files]) > 62


def test_a_half_hourly_series_tells_its_targets_half_hours_apart():
    """At 30-minute steps, 14:00 and 14:30 are different times of day to forecast."""
    values, ts = seasonal_series(n=200)
    features = resource_hourly_features(series_table(values, ts))
    dataset = build_dataset(features, series_spec(ts, 4))
    assert dataset.frame["target_hour"].n_unique() == 48


def test_the_naive_forecast_before_a_model_is_the_best_so_far_and_causal():
    rng = np.random.default_rng(5)
    t = np.arange(24 * 6)  # under a week: the weekly baseline never takes part
    values = 100 + 40 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 1, t.size)
    ts = np.datetime64("2026-01-01T00:00") + t.astype("timedelta64[h]")
    naive = naive_forecasts(values, ts, 4)
    picked = best_naive_so_far(values, naive)
    # nothing is known at the first row: the last value
    np.testing.assert_array_equal(picked[0], naive["last_value"][0])
    # a clean daily wave: once days of its forecasts are scored, yesterday's value wins
    later = slice(24 * 3, None)
    np.testing.assert_array_equal(picked[later], naive["same_time_yesterday"][later])
    # a random walk: the last value does
    walk = 100 + np.cumsum(rng.normal(0, 5, t.size))
    np.testing.assert_array_equal(
        best_naive_so_far(walk, naive_forecasts(walk, ts, 4))[later],
        naive_forecasts(walk, ts, 4)["last_value"][later],
    )
    changed = values.copy()
    changed[100:] = 0
    again = best_naive_so_far(changed, naive_forecasts(changed, ts, 4))
    np.testing.assert_array_equal(again[:100], picked[:100])


def test_forecaster_beats_naive_on_a_noisy_development_file(nab_dir):
    """A noisy CPU series of the development files (`python -m benchmarks.forecast_evaluation
    --folder ../shared/data/nab`; a tuned figure): the recent-level inputs took it from 0.972
    of the best naive baseline's MAE, no better than naive, to 0.763 (mean over h1..h4)."""
    from benchmarks.forecast_evaluation import relative_errors

    path = nab_dir / "realAWSCloudwatch" / "ec2_cpu_utilization_ac20cd.csv"
    ratios, _, _ = relative_errors(path, 4)
    assert np.mean(ratios) < 0.82


def test_forecast_ceiling_forecasts_every_scored_row_from_the_rest_of_the_series():
    """`benchmarks.forecast_ceiling`: each scored row is forecast (nothing in the warm-up), and
    on a daily wave the cross-fitted model beats the best naive baseline."""
    from benchmarks.forecast_ceiling import cross_fitted_forecasts
    from benchmarks.forecast_evaluation import WARM_UP

    values, ts = seasonal_series(n=720)
    budget = SearchBudget(trials=3, max_rounds=100, threads=1)
    forecasts = cross_fitted_forecasts(values, ts, 4, budget, blocks=3)
    start = int(WARM_UP * values.size)
    assert np.isnan(forecasts[:start]).all()
    for k in range(1, 5):
        assert not np.isnan(forecasts[start : values.size - k, k - 1]).any()
    assert max(relative_to_best_naive(values, ts, forecasts)) < 0.9


def test_forecast_better_than_every_baseline_on_every_row_scores_below_one():
    """Same time last week has no forecast in a series' first week. Scoring it on its own
    rows, where it is nearly exact on a weekly pattern, against the model on every scored row,
    the first week included, made a forecast that beats every baseline on every row look
    several times worse than naive."""
    rng = np.random.default_rng(5)
    n, week = 700, 336  # 30-minute steps: scored from row 210, a week ago exists from 336
    pattern = np.cumsum(rng.normal(0, 10, week))
    values = 1_000 + np.resize(pattern, n) + rng.normal(0, 0.1, n)
    ts = np.datetime64("2026-01-01T00:00") + np.arange(n) * np.timedelta64(30, "m")
    naive = np.stack(list(naive_forecasts(values, ts, 4).values()))
    truth = np.full((n, 4), np.nan)
    for k in range(1, 5):
        truth[: n - k, k - 1] = values[k:]
    closest = np.fmin.reduce(np.abs(naive - truth), axis=0)  # the best baseline's, per row
    forecasts = truth + 0.5 * closest
    assert max(relative_to_best_naive(values, ts, forecasts)) < 1


def test_a_naive_forecast_replaces_a_model_the_series_has_left_behind():
    """A model fitted before a new daily job began keeps forecasting the old shape; once
    yesterday's value has been clearly better for a day, it replaces the model, and only
    then. Causal: changing values from row r on changes nothing before r (the rule's own
    timing is tested in test_naive_guard.py)."""
    rng = np.random.default_rng(3)
    n, day, change = 960, 48, 480
    t = np.arange(n)
    old = 100 + 30 * np.sin(2 * np.pi * t / day)
    values = old + rng.normal(0, 1, n)
    values[change:] += np.where(t[change:] % 12 == 0, 400.0, 0.0)  # a job every 6 hours
    ts = np.datetime64("2026-01-01T00:00") + t * np.timedelta64(30, "m")
    model = np.stack([np.roll(old, -k) for k in (1, 2)], axis=1)  # knows only the old shape
    naive = naive_forecasts(values, ts, 2)
    guarded, replaced = guarded_by_naive(values, ts, model, naive, series_spec(ts, 2))
    assert not replaced[:change].any()  # the model was the better before the job
    assert replaced[change + 2 * day :].mean() > 0.95
    np.testing.assert_array_equal(guarded[~replaced], model[~replaced])
    late = slice(change + 2 * day, n - 2)
    assert mae(values[late.start + 1 : n - 1], guarded[late, 0]) < 0.2 * mae(
        values[late.start + 1 : n - 1], model[late, 0]
    )
    r = 700
    altered = values.copy()
    altered[r:] = 0
    altered_naive = naive_forecasts(altered, ts, 2)
    again, _ = guarded_by_naive(altered, ts, model, altered_naive, series_spec(ts, 2))
    np.testing.assert_array_equal(again[:r], guarded[:r])
