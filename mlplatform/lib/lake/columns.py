"""What each lake table's columns mean, for the people who read them: the Dagster UI's column
schemas and the comments on the warehouse's and `mlplatform sql`'s views take it from here.

A name means one thing across tables unless its table says otherwise (`BY_TABLE`); feature
families (`cpu_utilization_mean_24h`, ...) are described by pattern, so a metric a release
adds is described without a new entry. The UI renders descriptions as Markdown, so they hold
no angle brackets, which it would take for HTML."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mlplatform.lib.lake.identifiers import quoted

if TYPE_CHECKING:
    import duckdb

# Names with one meaning in every table that has them.
SHARED: dict[str, str] = {
    "resource_id": "The resource (an EC2 instance id, a load balancer, ...).",
    "ts": "Start of the hour (UTC).",
    "date": "The day (UTC).",
    "service": "The service the resource belongs to.",
    "region": "The resource's region.",
    "namespace": "The CloudWatch namespace the metric came from.",
    "cpu_utilization": "CPU utilization, percent 0-100, mean over the hour.",
    "memory_utilization": "Memory utilization, percent 0-100, mean over the hour.",
    "network_io": "Bytes in + out during the hour.",
    "request_count": "Requests during the hour.",
    "source_rows": "How many raw rows this row was built from.",
    "source_file": "The landing file the row came from, relative to the landing root.",
    "source_line": "The row's line in the landing file as an editor counts it (CSV, JSON "
    "Lines), or its row number from 1 (Parquet).",
    "sub_account_id": "The billing sub-account (FOCUS SubAccountId).",
    "service_name": "The billed service (FOCUS ServiceName).",
    "billing_currency": "Currency of the costs (FOCUS BillingCurrency).",
    "billed_cost": "Cost as invoiced (FOCUS BilledCost), summed over the day.",
    "effective_cost": "Cost after discounts and amortized commitments (FOCUS EffectiveCost), "
    "summed over the day.",
    "hour_of_day": "Hour of ts, 0-23 (UTC).",
    "day_of_week": "0 = Monday .. 6 = Sunday.",
    "day_of_month": "Day of the month, 1-31.",
    "month": "Month, 1-12.",
    "is_weekend": "1 on Saturday and Sunday, else 0.",
    "is_business_hour": "1 from 9:00 to 17:59 UTC on weekdays, else 0.",
    "is_month_end": "1 on the last day of the month, else 0.",
    "hour_of_day_sin": "sin(2π · hour_of_day / 24).",
    "hour_of_day_cos": "cos(2π · hour_of_day / 24).",
    "day_of_week_sin": "sin(2π · day_of_week / 7).",
    "day_of_week_cos": "cos(2π · day_of_week / 7).",
    "month_sin": "sin(2π · month / 12).",
    "month_cos": "cos(2π · month / 12).",
    "cpu_memory_ratio": "cpu_utilization / (memory_utilization + 1e-6).",
    "resource_efficiency": "(cpu_utilization + memory_utilization) / 2.",
    "origin": "When the forecast was made: the last period whose actuals it had.",
    "horizon": "How many steps ahead of origin the forecast is (hours; days for cost).",
    "target_time": "The period forecast: origin + horizon.",
    "forecast": "The forecast value, in the target's own unit.",
    "forecast_by": "What made this forecast: the model_version in force, or a naive forecast "
    "(naive/last_value) where a naive guard replaced the model's. The platform's forecasters "
    "have no guard, so in the lake it equals model_version.",
    "model_version": "What served the row: the champion (demand_forecaster/3, "
    "cost_forecaster/2), or its naive stand-in (naive/same_hour_last_week) while the model "
    "has none.",
    "filename": "The lake's Parquet file the row was read from; its name is the partition's day.",
}

_RAW = {
    "value": "The metric's value as landed, as text (clean parses it).",
    "timestamp": "The point's time as landed (ISO 8601; no offset means UTC).",
    "metric_name": "The metric's name as landed (CloudWatch's or the platform's).",
    "unit": "The metric's unit as landed.",
    "arrived_at": "When the landing file was last written (its modification time, UTC).",
    "file_error": "Why the file, or this line, could not be read; null when it could.",
    "extra": "The landing file's other columns for this line, as JSON.",
}
_MODEL_FIGURES = {
    "mae": "Mean absolute error of the champion's forecasts whose target falls on the day.",
    "smape": "Symmetric MAPE of the same forecasts, percent.",
    "mae_relative_to_best_baseline": "mae over the best naive baseline's MAE on the rows it "
    "forecasts; below 1 beats naive forecasting.",
    "mae_naive_fallback": "MAE of the naive forecast serving would fall back to.",
    "mae_relative_to_naive_fallback": "mae / mae_naive_fallback.",
    "training_mae": "The champion's MAE on its training run's held-out days.",
    "mae_ratio_to_training": "mae / training_mae.",
    "training_skill": "The champion's mae_relative_to_best_baseline on its held-out days.",
    "skill_ratio_to_training": "mae_relative_to_best_baseline / training_skill: what the "
    "performance check watches (retrain when it climbs).",
    "scored_forecasts": "How many forecasts were scored.",
    "served_mae": "MAE of the forecasts serving gave that day (by the model in force then).",
    "served_mae_relative_to_best_baseline": "served_mae over the best naive baseline's MAE.",
    "served_scored_forecasts": "How many served forecasts were scored.",
    "alerts_labelled": "Labelled anomaly periods of the day (simulated data only).",
    "alerts_recall": "Share of labelled anomaly periods with an alert inside.",
    "alerts_precision": "Share of alerts inside a labelled anomaly period.",
    "model_version": "The demand forecaster's champion version scored; null while none.",
}
BY_TABLE: dict[str, dict[str, str]] = {
    "raw.cloudwatch_metrics": _RAW,
    "raw.cost_usage": {k: _RAW[k] for k in ("arrived_at", "file_error", "extra")},
    "clean.other_metrics_hourly": {
        "metric": "The metric's name (any metric outside the platform's four).",
        "value": "The metric's mean over the hour.",
    },
    "clean.cost_daily": {
        "service_category": "FOCUS ServiceCategory.",
        "region_id": "FOCUS RegionId.",
        "resource_id": "FOCUS ResourceId; null for charges not tied to a resource.",
        "charge_category": "FOCUS ChargeCategory (Usage, Purchase, Tax, Credit, Adjustment).",
        "source_rows": "How many cost lines were summed into this row.",
    },
    "clean.quarantine": {
        "date": "The partition (UTC day) whose landing folder held the row.",
        "source": "metrics or cost.",
        "column": "The column that failed; null when the whole row or file did.",
        "reason": "Why the row was rejected.",
        "record": "The rejected row as landed, as JSON.",
    },
    "serving.anomaly_alerts": {
        "metric": "The metric that alerted.",
        "ts": "The hour that alerted (UTC).",
        "value": "The metric's value in that hour.",
        "anomaly_score": "0-1; an alert fires at 0.5, once per burst.",
        "model_version": "The detector that scored the row: the anomaly_detector champion "
        "(anomaly_detector/1).",
        "signal": "What fired: surprise (the one-step model's errors), novelty (a shape unlike "
        "any recent one), beyond_range (outside every recent value) or flatline (one value "
        "repeated longer than any recent run of one value).",
        "elevated_hours": "Of this hour and the 5 after it that had landed, how many scored 0.5 "
        "or more: how long the excursion lasted (noise lasts one hour).",
        "seen_hours": "Of this hour and the 5 after it, how many had landed when it was scored.",
    },
    "serving.anomaly_incidents": {
        "incident_id": "Stable id of the incident: its scope, where and first hour, hashed.",
        "scope": "resource (one resource's metrics), service (resources of one service and "
        "region moving together) or fleet (most of the fleet in one hour: the calendar).",
        "service": "The service of the incident's resources (fleet: every service involved).",
        "region": "The region of the incident's resources (fleet: every region involved).",
        "severity": "critical, error or warning (docs/operations.md says how it is set).",
        "severity_score": "0-1: half how far beyond normal, a quarter how many series, a "
        "quarter how long; incidents are ranked by it.",
        "start": "The first alerting hour (UTC).",
        "end": "The last alerting hour (UTC).",
        "duration_hours": "Hours from the first alerting hour to the last, both counted.",
        "first_mover": "resource/metric that alerted first (ties: the higher score): where "
        "to look first, a hint and not a proven cause.",
        "peak_score": "The highest anomaly_score among its alerts.",
        "n_resources": "How many resources alerted in it.",
        "n_series": "How many resource/metric series alerted in it.",
        "resources": "The resources that alerted in it.",
        "series": "Every resource/metric that alerted in it.",
    },
    "serving.cost_recommendations": {
        "peak_cpu_p95": "Highest 24-hour p95 CPU utilization of the day, percent.",
        "observed_peak_requests": "Highest hourly request_count of the day.",
        "forecast_peak_requests": "Highest request_count forecast made during the day.",
        "daily_cost": "The resource's usage cost of the day (effective cost).",
        "recommendation": "What to do.",
        "monthly_saving": "Expected saving over 30 days of doing it.",
        "model_version": "What made the day's demand forecasts behind forecast_peak_requests "
        "(demand_forecaster/3, or naive/same_hour_last_week while there is no champion).",
    },
    "monitoring.feature_drift": {
        "column": "A model input, a segment or a prediction column.",
        "kind": "feature, segment or prediction.",
        "score": "Drift distance of the day against the reference days: normed Wasserstein "
        "for numbers, Jensen-Shannon for categories.",
        "drifted": "Whether score is above the column threshold (0.1).",
        "missing_share": "Share of the day's rows where the column is null.",
        "missing_share_reference": "The same on the reference days.",
        "out_of_range": "The day's values outside the column's valid range.",
    },
    "monitoring.model_performance": _MODEL_FIGURES,
}

_STATISTICS = {
    "mean": "Mean",
    "min": "Minimum",
    "max": "Maximum",
    "std": "Sample standard deviation",
    "p95": "95th percentile",
    "sum": "Sum",
}
_FEATURES: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"^(?P<m>\w+?)_(?P<s>mean|min|max|std|p95)_24h$"),
        "{s} of {m} over the 24 hours up to this row.",
    ),
    (re.compile(r"^(?P<m>\w+?)_volatility_24h$"), "{m}_std_24h / {m}_mean_24h."),
    (
        re.compile(r"^(?P<m>\w+?)_trend_6h$"),
        "Least-squares slope of {m} per hour over the 6 hours up to this row.",
    ),
    (re.compile(r"^(?P<m>\w+?)_lag_(?P<n>\d+)h$"), "{m} {n} hours earlier."),
    (re.compile(r"^(?P<m>\w+?)_lag_(?P<n>\d+)d$"), "{m} {n} days earlier."),
    (re.compile(r"^mae_baseline_(?P<b>\w+)$"), "MAE of the naive forecast {b} on its targets."),
    (
        re.compile(r"^(?P<m>\w+?)_(?P<s>mean|sum|std)_(?P<n>\d+)d$"),
        "{s} of {m} over the {n} days up to this row.",
    ),
]


def describe_column(table: str, column: str) -> str | None:
    """What `column` of `table` ("layer.name") means; None where it is not documented."""
    found = BY_TABLE.get(table, {}).get(column) or SHARED.get(column)
    if found:
        return found
    if table == "monitoring.model_performance" and column.startswith("cost_"):
        figure = describe_column(table, column.removeprefix("cost_"))
        return f"Cost forecaster, on its forecasts due on the day. {figure}" if figure else None
    if table == "raw.cost_usage" and column[:1].isupper():
        return f"The FOCUS column {column} as landed, as text (clean parses it)."
    for pattern, template in _FEATURES:
        if match := pattern.match(column):
            parts = match.groupdict()
            if "s" in parts:
                parts["s"] = _STATISTICS[parts["s"]]
            return template.format(**parts)
    return None


def comment_view(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Put each described column's description on view `table` ("layer.name") of `con`."""
    layer, name = table.split(".", 1)
    view = f"{quoted(layer)}.{quoted(name)}"
    for column, *_ in con.execute(f"DESCRIBE {view}").fetchall():
        if text := describe_column(table, column):
            literal = text.replace("'", "''")
            con.execute(f"COMMENT ON COLUMN {view}.{quoted(column)} IS '{literal}'")
