"""What serving forecasts with: a forecaster's champion, or the naive forecast it lost to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from mlplatform.lib.models.forecasting import (
    NAIVE,
    ForecastSpec,
    forecast_tables,
    naive_forecast_tables,
)
from mlplatform.lib.models.promotion import naive_fallback
from mlplatform.lib.models.registry import CHAMPION, Registry


@dataclass(frozen=True)
class Served:
    tables: dict[date, pl.DataFrame]
    by: str  # the model version every row names: `<name>/<version>` or `naive/<baseline>`
    champion: bool


def served_forecasts(
    registry: Registry, spec: ForecastSpec, history: pl.DataFrame, days: list[date]
) -> Served:
    """`days`' forecasts by the champion of `spec`; without one (no model has beaten naive
    yet), by the naive forecast its challenger was measured against, so a day is served
    either way. LookupError where the forecaster was never trained."""
    champion = registry.by_alias(spec.name, CHAMPION)
    if champion is not None:
        booster = registry.load(spec.name, champion.version)
        by = f"{spec.name}/{champion.version}"
        return Served(forecast_tables(spec, history, days, booster, by), by, True)
    baseline = naive_fallback(registry, spec.name)
    if baseline is None:
        raise LookupError(f"{spec.name} has no model yet: materialize models/{spec.name} first")
    tables = naive_forecast_tables(spec, history, days, baseline)
    return Served(tables, f"{NAIVE}/{baseline}", False)
