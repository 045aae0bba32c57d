"""The operations config, and the pollers as Dagster assets: in the Definitions only when
configured, on their own schedule, materializing against the loopback server."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from mlplatform.definitions import build_definitions
from mlplatform.defs.keys import CLOUDWATCH_POLL, COST_EXPORT_POLL
from mlplatform.defs.sources.assets import cloudwatch_poll_asset
from mlplatform.lib.operations_config import (
    CloudWatchMetrics,
    CloudWatchSource,
    OperationsConfigError,
    load_operations_config,
)
from mlplatform.resources.aws_clients import AwsClients
from mlplatform.resources.build import local_resources
from mlplatform_tests.sources.conftest import REGION, aws_client

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "operations.example.yaml"


def test_the_example_config_loads():
    config = load_operations_config(EXAMPLE)
    assert config.cloudwatch is not None and config.cost_export is not None
    assert [c.label for c in config.alerts.channels] == ["slack", "email", "webhook"]
    network = config.cloudwatch.metrics[0]
    assert network.stat_of("NetworkIn") == "Sum"  # a counter
    assert network.stat_of("CPUUtilization") == "Average"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cloudwatch:\n  regions: [us-east-1]\n  metricz: []\n", "cloudwatch.metricz: Extra"),
        ("account_id: 12345\n", "account_id: String should match pattern"),
        ("cloudwatch: {regions: [], metrics: []}\n", "cloudwatch.regions: List should have"),
        ("cost_export: {bucket: b}\n", "cost_export.export_name: Field required"),
        ("cloudwatch: [unclosed\n", "is not valid YAML"),
        (
            "alerts: {channels: [{kind: sms, to: x}]}\n",
            "alerts.channels.0: Input tag 'sms' found using 'kind' does not match",
        ),
        (
            "alerts: {channels: [{kind: slack, webhook_url_env: A}, "
            "{kind: slack, webhook_url_env: B}]}\n",
            "give channels of one kind distinct names: slack",
        ),
    ],
)
def test_a_bad_config_says_which_key_and_why(tmp_path: Path, text: str, message: str):
    path = tmp_path / "operations.yaml"
    path.write_text(text)
    with pytest.raises(OperationsConfigError, match=message.replace("[", r"\[")) as raised:
        load_operations_config(path)
    assert str(path) in str(raised.value)


def test_a_missing_config_file_is_named(tmp_path: Path):
    with pytest.raises(OperationsConfigError, match="no such file"):
        load_operations_config(tmp_path / "absent.yaml")


def test_pollers_and_delivery_are_in_the_definitions_only_when_configured(
    monkeypatch, tmp_path: Path
):
    resources = local_resources(tmp_path)
    monkeypatch.delenv("MLPLATFORM_OPERATIONS_CONFIG", raising=False)
    keys = build_definitions(resources).resolve_asset_graph().get_all_asset_keys()
    assert CLOUDWATCH_POLL not in keys and COST_EXPORT_POLL not in keys
    assert "alert_delivery_sensor" not in {s.name for s in build_definitions(resources).sensors}

    monkeypatch.setenv("MLPLATFORM_OPERATIONS_CONFIG", str(EXAMPLE))
    defs = build_definitions(resources)
    dg.Definitions.validate_loadable(defs)
    assert "alert_delivery_sensor" in {s.name for s in defs.sensors}
    graph = defs.resolve_asset_graph()
    for key in (CLOUDWATCH_POLL, COST_EXPORT_POLL):
        node = graph.get(key)
        assert node.group_name == "sources"
        assert "on_cron" in str(node.automation_condition)
        assert node.freshness_policy is not None


def test_the_cloudwatch_poll_asset_lands_files_and_reports_them(aws_endpoint: str, tmp_path: Path):
    client = aws_client("cloudwatch", aws_endpoint)
    last_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    client.put_metric_data(
        Namespace="AWS/EC2",
        MetricData=[
            {
                "MetricName": "CPUUtilization",
                "Dimensions": [{"Name": "InstanceId", "Value": "i-0aaa"}],
                "Timestamp": last_hour + timedelta(minutes=5 * k),  # the last complete hour
                "Value": 40.0,
            }
            for k in range(12)
        ],
    )
    source = CloudWatchSource(
        regions=[REGION],
        metrics=[
            CloudWatchMetrics(
                namespace="AWS/EC2", names=["CPUUtilization"], resource_dimension="InstanceId"
            )
        ],
        first_poll_hours=2,
        endpoint_url=aws_endpoint,
    )
    resources = local_resources(tmp_path) | {
        "aws": AwsClients(aws_access_key_id="test", aws_secret_access_key="test")
    }
    result = dg.materialize([cloudwatch_poll_asset(source)], resources=resources)
    assert result.success
    metadata = result.asset_materializations_for_node("sources__cloudwatch_poll")[0].metadata
    assert metadata["series"].value == 1
    assert metadata["points"].value == 12
    assert metadata["files_written"].value
    assert list((tmp_path / "landing" / "metrics").glob("*/cloudwatch-us-east-1.parquet"))
