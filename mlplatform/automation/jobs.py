"""Jobs and schedules."""

import dagster as dg

retrain_job = dg.define_asset_job(
    "retrain_job",
    selection=dg.AssetSelection.groups("models"),
    description="Train every model, compare each with its champion, promote only if better.",
)

daily_pipeline_job = dg.define_asset_job(
    "daily_pipeline_job",
    selection=dg.AssetSelection.groups("raw", "clean", "features")
    | dg.AssetSelection.assets(["monitoring", "feature_drift"]),
    description=(
        "One day from landing files to the drift report: raw → clean → features → drift, "
        "with their checks. Backfill it over a range of days."
    ),
)

weekly_retrain_schedule = dg.ScheduleDefinition(
    name="weekly_retrain_schedule",
    job=retrain_job,
    cron_schedule="0 3 * * 1",  # Mondays 03:00 UTC
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    tags={"mlplatform/trigger": "weekly_schedule"},
)
