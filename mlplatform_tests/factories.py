"""Small tables for tests."""

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

START = datetime(2026, 3, 1, tzinfo=UTC)


def hourly_table(resources: int = 3, days: int = 10, seed: int = 0) -> pl.DataFrame:
    """An hourly grid with gaps, nulls and a resource that never reports memory."""
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(resources):
        for h in range(days * 24):
            if rng.random() < 0.08:  # gap: the hour is missing
                continue
            rows.append(
                {
                    "resource_id": f"i-{r}",
                    "ts": START + timedelta(hours=h),
                    "cpu_utilization": None if rng.random() < 0.05 else float(rng.uniform(0, 100)),
                    "memory_utilization": None if r == 1 else float(rng.uniform(0, 100)),
                    "network_io": float(rng.uniform(1e8, 5e9)),
                    "request_count": float(rng.poisson(500)),
                    "service": "EC2",
                }
            )
    return pl.DataFrame(rows).with_columns(pl.col("ts").cast(pl.Datetime("us", "UTC")))
