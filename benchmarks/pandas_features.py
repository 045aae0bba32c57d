"""FEATURES.md as a pandas user would write it: the feature benchmark's baseline.

Time-based `groupby().rolling("24h")` windows (the input has gaps, so row-count windows
would be wrong), lags looked up by exact timestamp on a (resource_id, ts) index (one narrow
reindex per lag, not a merge of the wide frame), and the contract's exact cases handled as
its text says: a window of equal values has std 0, and volatility is null where the mean is 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ROLLING = ("cpu_utilization", "memory_utilization", "network_io")
LAGS = {"request_count": (1, 24, 168), "cpu_utilization": (1, 24, 168)}


def pandas_features(df: pd.DataFrame) -> pd.DataFrame:
    df = df.sort_values(["resource_id", "ts"], ignore_index=True)
    out = df.copy()
    ts = df["ts"]
    hour, dow, month = ts.dt.hour, ts.dt.dayofweek, ts.dt.month
    out["hour_of_day"], out["day_of_week"], out["month"] = hour, dow, month
    out["is_weekend"] = (dow >= 5).astype("int8")
    out["is_business_hour"] = ((hour >= 9) & (hour <= 17) & (dow < 5)).astype("int8")
    for name, value, period in (
        ("hour_of_day", hour, 24),
        ("day_of_week", dow, 7),
        ("month", month, 12),
    ):
        out[f"{name}_sin"] = np.sin(2 * np.pi * value / period)
        out[f"{name}_cos"] = np.cos(2 * np.pi * value / period)

    indexed = df.set_index("ts")
    groups = indexed.groupby("resource_id", sort=True)  # the order of the sorted frame
    for m in ROLLING:
        roll = groups[m].rolling("24h")
        mean, low, high = (roll.mean().to_numpy(), roll.min().to_numpy(), roll.max().to_numpy())
        std = groups[m].rolling("24h", min_periods=2).std().to_numpy()
        flat = low == high
        mean = np.where(flat, low, mean)
        std = np.where(flat & ~np.isnan(std), 0.0, std)
        out[f"{m}_mean_24h"], out[f"{m}_min_24h"], out[f"{m}_max_24h"] = mean, low, high
        out[f"{m}_std_24h"] = std
        out[f"{m}_p95_24h"] = roll.quantile(0.95, interpolation="linear").to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"{m}_volatility_24h"] = np.where(mean != 0, std / mean, np.nan)
        out[f"{m}_trend_6h"] = _trend(df, m)

    key = pd.MultiIndex.from_arrays([df["resource_id"], df["ts"]])
    for m, lags in LAGS.items():
        values = pd.Series(df[m].to_numpy(), index=key)
        for h in lags:
            earlier = pd.MultiIndex.from_arrays(
                [df["resource_id"], df["ts"] - pd.Timedelta(hours=h)]
            )
            out[f"{m}_lag_{h}h"] = values.reindex(earlier).to_numpy()
    out["cpu_memory_ratio"] = out["cpu_utilization"] / (out["memory_utilization"] + 1e-6)
    out["resource_efficiency"] = (out["cpu_utilization"] + out["memory_utilization"]) / 2
    return out


def _trend(df: pd.DataFrame, m: str) -> np.ndarray:
    """Least-squares slope over (ts - 6h, ts] from rolling sums of n, x, y, xy, xx, with x in
    hours from the resource's first row (small numbers keep the sums' digits)."""
    present = df[m].notna().to_numpy()
    first = df.groupby("resource_id")["ts"].transform("min")
    x = np.where(present, (df["ts"] - first).dt.total_seconds().to_numpy() / 3600, 0.0)
    y = df[m].fillna(0.0).to_numpy()
    columns = {"n": present.astype(float), "x": x, "y": y, "xy": x * y, "xx": x * x}
    frame = pd.DataFrame({"resource_id": df["resource_id"].to_numpy(), **columns}, index=df["ts"])
    sums = frame.groupby("resource_id", sort=True)[["n", "x", "y", "xy", "xx"]].rolling("6h").sum()
    n, sx, sy, sxy, sxx = (sums[c].to_numpy() for c in ("n", "x", "y", "xy", "xx"))
    denominator = n * sxx - sx * sx
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (n * sxy - sx * sy) / denominator
    window = df.set_index("ts").groupby("resource_id", sort=True)[m].rolling("6h")
    low, high = window.min().to_numpy(), window.max().to_numpy()
    slope = np.where((n >= 2) & (low == high), 0.0, slope)
    return np.where((n >= 2) & (denominator > 0), slope, np.nan)
