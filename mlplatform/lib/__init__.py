"""Plain, typed compute: no Dagster import anywhere below this package."""
