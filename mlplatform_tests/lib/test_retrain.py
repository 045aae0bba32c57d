from datetime import UTC, datetime, timedelta

from mlplatform.lib.monitoring.retrain import CheckFailure, RetrainState, decide, first_trainings

NOW = datetime(2026, 2, 1, 12, tzinfo=UTC)
COOLDOWN = timedelta(hours=72)


def failure(
    record_id: int,
    severity: str = "ERROR",
    check: str = "monitoring/feature_drift:feature_drift_check",
):
    return CheckFailure(check, "demand_forecaster", "2026-01-31", 1.0, severity, record_id)


def test_error_requests_a_retrain_with_its_reason_once():
    state = RetrainState()
    requests, _ = decide([failure(5)], state, NOW, COOLDOWN)
    [request] = requests
    assert request.trigger == "monitoring/feature_drift:feature_drift_check"
    assert request.partition == "2026-01-31" and request.value == 1.0
    assert (
        request.run_key
        == "retrain:demand_forecaster:monitoring/feature_drift:feature_drift_check:5"
    )
    again, _ = decide([failure(5)], state, NOW, COOLDOWN)  # the same record: nothing new
    assert again == []


def test_warnings_do_not_retrain():
    requests, skipped = decide([failure(3, "WARN")], RetrainState(), NOW, COOLDOWN)
    assert requests == [] and "WARN only" in skipped[0]


def test_cooldown_per_model_and_the_cursor_survives_a_restart():
    state = RetrainState()
    decide([failure(1)], state, NOW, COOLDOWN)
    restored = RetrainState.loads(state.dumps())  # a restarted sensor reads its cursor back
    other_check = failure(2, check="monitoring/model_performance:model_performance_check")
    requests, skipped = decide([other_check], restored, NOW + timedelta(hours=10), COOLDOWN)
    assert requests == [] and "cooldown" in skipped[0]
    later, _ = decide([failure(9)], restored, NOW + timedelta(hours=73), COOLDOWN)
    assert len(later) == 1


def test_first_training_waits_for_enough_partitions_and_only_without_a_champion():
    days = {"demand_forecaster": 7, "cost_forecaster": 6, "anomaly_detector": 9}
    assert first_trainings(days, set(), 7) == ["anomaly_detector", "demand_forecaster"]
    assert first_trainings(days, {"demand_forecaster"}, 7) == ["anomaly_detector"]
    assert first_trainings(days, set(days), 7) == []
    # refused on 7 and 9 days (not better than naive): again only once another day lands
    attempted = {"demand_forecaster": 7, "anomaly_detector": 9}
    assert first_trainings(days, set(), 7, attempted) == []
    assert first_trainings({**days, "demand_forecaster": 8}, set(), 7, attempted) == [
        "demand_forecaster"
    ]
