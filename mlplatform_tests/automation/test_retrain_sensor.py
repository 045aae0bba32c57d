"""retrain_sensor on a real (temporary) Dagster instance, while a check is still running."""

import dagster as dg

from mlplatform.automation.sensors import retrain_sensor
from mlplatform.defs.keys import FEATURE_DRIFT
from mlplatform.defs.monitoring.checks import FEATURE_DRIFT_CHECK
from mlplatform.resources.monitoring import MonitoringPolicy


@dg.asset(key=FEATURE_DRIFT)
def _feature_drift() -> None:
    return None


@dg.asset_check(asset=FEATURE_DRIFT, name=FEATURE_DRIFT_CHECK)
def _check_that_never_reports() -> dg.AssetCheckResult:
    # a check step that ends without an evaluation leaves only its "planned" record, as a
    # check still running does
    raise RuntimeError("no evaluation")


def test_a_check_planned_but_not_evaluated_requests_nothing_and_does_not_fail():
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [_feature_drift, _check_that_never_reports], instance=instance, raise_on_error=False
        )
        assert not result.success
        key = dg.AssetCheckKey(FEATURE_DRIFT, FEATURE_DRIFT_CHECK)
        assert instance.get_latest_asset_check_evaluation_record(key) is not None
        context = dg.build_sensor_context(
            instance=instance, resources={"monitoring_policy": MonitoringPolicy()}
        )
        assert retrain_sensor(context).run_requests == []
