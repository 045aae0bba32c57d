"""What a local deployment holds for some days, in words: its tables, models, the last day's
alerts and incidents, recommendations and drift, and where to look further."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from mlplatform.lib.delivery.notices import incident_notices
from mlplatform.lib.monitoring.coverage import MODELS, built_tables

LISTED = 3  # incidents and recommendations listed by name
DRIFTED_LISTED = 4
FORECASTERS = ("demand_forecaster", "cost_forecaster")


def _day_file(data: Path, table: str, day: str) -> pl.DataFrame | None:
    path = data / "lake" / table / f"{day}.parquet"
    return pl.read_parquet(path) if path.exists() else None


def tables_section(data: Path, days: Sequence[str]) -> list[str]:
    tables = built_tables(data / "lake", days)
    width = max(len(t.table) for t in tables)
    lines = [f"  {'table':<{width}}  days         rows"]
    lines += [f"  {t.table:<{width}}  {t.days:>4}  {t.rows:>11,}" for t in tables]
    return lines


def models_section(data: Path) -> list[str]:
    if not (data / "mlflow.db").exists():
        return ["  none registered yet"]
    from mlplatform.lib.models.registry import CHAMPION, Registry

    registry = Registry(f"sqlite:///{data / 'mlflow.db'}", str(data / "models"))
    lines = []
    for name in MODELS:
        versions = registry.versions(name)
        lines += [f"  {v.summary}" for v in versions]
        if versions and name in FORECASTERS and registry.by_alias(name, CHAMPION) is None:
            lines.append(
                f"    no {name} champion yet: the naive forecast serves until a version beats "
                "it on held-out days (each new day trains one)"
            )
    return lines or ["  none registered yet"]


def last_day_section(data: Path, day: str, ui_url: str) -> list[str]:
    lines = []
    alerts = _day_file(data, "serving/anomaly_alerts", day)
    incidents = _day_file(data, "serving/anomaly_incidents", day)
    if alerts is not None:
        lines.append(f"  {alerts.height} anomaly alert(s)")
    if incidents is not None:
        top = incident_notices(incidents, day, ui_url, min_severity="warning", budget=LISTED)
        worst = ", the most severe:" if top else ""
        lines.append(f"  {incidents.height} anomaly incident(s){worst}")
        lines += [f"    - {n.summary}" for n in top]
    recommendations = _day_file(data, "serving/cost_recommendations", day)
    if recommendations is not None:
        saving = recommendations["monthly_saving"].sum() if recommendations.height else 0.0
        lines.append(
            f"  {recommendations.height} rightsizing recommendation(s), "
            f"{saving:,.0f} a month to save in all"
            + (", the largest:" if recommendations.height else "")
        )
        lines += [
            f"    - {r['resource_id']}: {r['recommendation']}, {r['monthly_saving']:,.0f} a month"
            for r in recommendations.sort("monthly_saving", descending=True)
            .head(LISTED)
            .iter_rows(named=True)
        ]
    drift = _day_file(data, "monitoring/feature_drift", day)
    report = data / "reports" / "feature_drift" / f"{day}.html"
    if drift is not None:
        drifted = drift.filter(pl.col("drifted"))["column"].to_list()
        more = len(drifted) - DRIFTED_LISTED
        named = f": {', '.join(drifted[:DRIFTED_LISTED])}" if drifted else ""
        named += f" and {more} more" if more > 0 else ""
        lines.append(f"  drift: {len(drifted)} of {drift.height} columns drifted{named}")
    if report.exists():
        lines.append(f"  the Evidently report: {report}")
    return lines or ["  nothing built for it yet"]


def deployment_summary(data: Path, days: Sequence[str], ui_url: str) -> list[str]:
    """Lines to print: what the deployment under `data` holds for `days`, and where to look."""
    return [
        f"What was built under {data} for {days[0]} .. {days[-1]} ({len(days)} days):",
        *tables_section(data, days),
        "",
        f"Models (MLflow registry {data / 'mlflow.db'}, artifacts under {data / 'models'}):",
        *models_section(data),
        "",
        f"On {days[-1]}:",
        *last_day_section(data, days[-1], ui_url),
        "",
        "Where to look:",
        f"  make run: the Dagster UI at {ui_url} on the same instance (these runs, lineage, "
        "every asset's metadata and checks)",
        '  .venv/bin/mlplatform sql "SELECT severity, scope, service, region, start, '
        "first_mover, series FROM serving.anomaly_incidents ORDER BY severity_score DESC "
        'LIMIT 20"',
        "  .venv/bin/mlplatform models list",
    ]
