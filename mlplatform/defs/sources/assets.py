"""Pullers of the AWS sources: they write landing files, which `landing_sensor` then ingests
like any other delivery, so raw keeps one trigger and one reader."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from mlplatform.defs.common import OWNERS
from mlplatform.defs.keys import CLOUDWATCH_POLL, COST_EXPORT_POLL
from mlplatform.lib.ingest import cloudwatch, cost_export
from mlplatform.lib.operations_config import CloudWatchSource, CostExportSource, OperationsConfig
from mlplatform.resources.aws_clients import AwsClients
from mlplatform.resources.landing import LandingZone


def _every(minutes: int) -> dg.AutomationCondition:
    # one poll at a time: a slow poll is not overtaken by the next
    return dg.AutomationCondition.on_cron(f"*/{minutes} * * * *") & ~(
        dg.AutomationCondition.in_progress()
    )


def cloudwatch_poll_asset(source: CloudWatchSource) -> dg.AssetsDefinition:
    @dg.asset(
        key=CLOUDWATCH_POLL,
        group_name="sources",
        owners=OWNERS,
        kinds={"aws", "cloudwatch"},
        description=(
            "Polls CloudWatch GetMetricData for the series the operations config lists (or "
            "ListMetrics finds) into `landing/metrics/<day>/cloudwatch-<region>.parquet`, from "
            "each series' cursor, re-reading the late-data window."
        ),
        automation_condition=_every(source.poll_every_minutes),
        freshness_policy=dg.FreshnessPolicy.time_window(
            fail_window=timedelta(minutes=3 * source.poll_every_minutes + 5)
        ),
    )
    def cloudwatch_poll(
        context: dg.AssetExecutionContext, landing: LandingZone, aws: AwsClients
    ) -> dg.MaterializeResult:
        report = cloudwatch.poll(
            source,
            lambda region: aws.client("cloudwatch", region, source.endpoint_url),
            landing,
            datetime.now(UTC),
        )
        context.log.info(
            f"{report.points:,} points of {report.series} series in {report.calls} calls "
            f"({report.retries} retries); wrote {len(report.files_written)} file(s)"
        )
        if report.empty_series:
            context.log.warning(
                f"{len(report.empty_series)} series returned no point (a gap, or a resource "
                f"gone): {', '.join(report.empty_series[:10])}"
            )
        return dg.MaterializeResult(
            metadata={
                "series": report.series,
                "points": report.points,
                "calls": report.calls,
                "retries": report.retries,
                "files_written": dg.MetadataValue.json(report.files_written),
                "series_without_points": len(report.empty_series),
            }
        )

    return cloudwatch_poll


def cost_export_poll_asset(source: CostExportSource) -> dg.AssetsDefinition:
    @dg.asset(
        key=COST_EXPORT_POLL,
        group_name="sources",
        owners=OWNERS,
        kinds={"aws", "s3"},
        description=(
            f"Lands the FOCUS export s3://{source.bucket}/{source.prefix} "
            f"({source.export_name}) into `landing/cost/<day>/`: every billing period whose "
            "manifest changed, replacing its earlier delivery day by day."
        ),
        automation_condition=_every(source.poll_every_minutes),
        freshness_policy=dg.FreshnessPolicy.time_window(
            fail_window=timedelta(minutes=3 * source.poll_every_minutes)
        ),
    )
    def cost_export_poll(
        context: dg.AssetExecutionContext, landing: LandingZone, aws: AwsClients
    ) -> dg.MaterializeResult:
        client = aws.client("s3", source.region, source.endpoint_url)
        report = cost_export.poll(source, client, landing, landing.max_file_bytes)
        context.log.info(
            f"billing periods {', '.join(report.periods_seen) or 'none'}; landed "
            f"{', '.join(report.periods_landed) or 'nothing new'} ({report.lines:,} lines)"
        )
        for refused in report.refused:
            context.log.error(f"data file refused, nothing of it landed: {refused}")
        return dg.MaterializeResult(
            metadata={
                "billing_periods": dg.MetadataValue.json(report.periods_seen),
                "periods_landed": dg.MetadataValue.json(report.periods_landed),
                "lines": report.lines,
                "files_written": dg.MetadataValue.json(report.files_written),
                "files_refused": dg.MetadataValue.json(report.refused),
            }
        )

    return cost_export_poll


def source_assets(config: OperationsConfig | None) -> list[dg.AssetsDefinition]:
    if config is None:
        return []
    assets = []
    if config.cloudwatch is not None:
        assets.append(cloudwatch_poll_asset(config.cloudwatch))
    if config.cost_export is not None:
        assets.append(cost_export_poll_asset(config.cost_export))
    return assets
