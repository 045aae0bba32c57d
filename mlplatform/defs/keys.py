"""Every asset key of the platform, declared once; definitions, checks and sensors import them."""

import dagster as dg

CLOUDWATCH_POLL = dg.AssetKey(["sources", "cloudwatch_poll"])
COST_EXPORT_POLL = dg.AssetKey(["sources", "cost_export_poll"])
RAW_METRICS = dg.AssetKey(["raw", "cloudwatch_metrics"])
RAW_COST = dg.AssetKey(["raw", "cost_usage"])
METRICS_HOURLY = dg.AssetKey(["clean", "metrics_hourly"])
OTHER_METRICS_HOURLY = dg.AssetKey(["clean", "other_metrics_hourly"])
COST_DAILY = dg.AssetKey(["clean", "cost_daily"])
QUARANTINE = dg.AssetKey(["clean", "quarantine"])
RESOURCE_FEATURES = dg.AssetKey(["features", "resource_hourly"])
COST_FEATURES = dg.AssetKey(["features", "cost_daily"])
DEMAND_MODEL = dg.AssetKey(["models", "demand_forecaster"])
COST_MODEL = dg.AssetKey(["models", "cost_forecaster"])
ANOMALY_MODEL = dg.AssetKey(["models", "anomaly_detector"])
DEMAND_FORECASTS = dg.AssetKey(["serving", "demand_forecasts"])
COST_FORECASTS = dg.AssetKey(["serving", "cost_forecasts"])
ANOMALY_ALERTS = dg.AssetKey(["serving", "anomaly_alerts"])
ANOMALY_INCIDENTS = dg.AssetKey(["serving", "anomaly_incidents"])
COST_RECOMMENDATIONS = dg.AssetKey(["serving", "cost_recommendations"])
FEATURE_DRIFT = dg.AssetKey(["monitoring", "feature_drift"])
MODEL_PERFORMANCE = dg.AssetKey(["monitoring", "model_performance"])


def model_key(name: str) -> dg.AssetKey:
    """The asset of a registered model's name (`demand_forecaster` -> models/demand_forecaster)."""
    return dg.AssetKey(["models", name])
