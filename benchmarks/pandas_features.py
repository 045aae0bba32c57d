"""A plain pandas `groupby().rolling()` implementation of FEATURES.md: the benchmark's baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd

ROLLING = ("cpu_utilization", "memory_utilization", "network_io")
LAGS = {"request_count": (1, 24, 168), "cpu_utilization": (1, 24, 168)}


def pandas_features(df: pd.DataFrame) -> pd.DataFrame:
    df = df.sort_values(["resource_id", "ts"]).reset_index(drop=True)
    ts = df["ts"]
    hour, dow, month = ts.dt.hour, ts.dt.dayofweek, ts.dt.month
    out = df.copy()
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
    # x counted from the data's first hour keeps the running sums' digits for the trend.
    hours = (df["ts"] - df["ts"].min()).dt.total_seconds() / 3600.0
    indexed["_x"] = hours.to_numpy()
    groups = indexed.groupby("resource_id")
    for m in ROLLING:
        roll = groups[m].rolling("24h")
        mean = roll.mean().to_numpy()
        std = groups[m].rolling("24h", min_periods=2).std().to_numpy()
        out[f"{m}_mean_24h"] = mean
        out[f"{m}_min_24h"] = roll.min().to_numpy()
        out[f"{m}_max_24h"] = roll.max().to_numpy()
        out[f"{m}_std_24h"] = std
        out[f"{m}_p95_24h"] = roll.quantile(0.95, interpolation="linear").to_numpy()
        out[f"{m}_volatility_24h"] = np.where(mean != 0, std / mean, np.nan)
        out[f"{m}_trend_6h"] = _trend(indexed, m)

    for m, lags in LAGS.items():
        for h in lags:
            shifted = df[["resource_id", "ts", m]].copy()
            shifted["ts"] = shifted["ts"] + pd.Timedelta(hours=h)
            shifted = shifted.rename(columns={m: f"{m}_lag_{h}h"})
            out = out.merge(shifted, on=["resource_id", "ts"], how="left")
    out["cpu_memory_ratio"] = out["cpu_utilization"] / (out["memory_utilization"] + 1e-6)
    out["resource_efficiency"] = (out["cpu_utilization"] + out["memory_utilization"]) / 2
    return out


def _trend(indexed: pd.DataFrame, m: str) -> np.ndarray:
    present = indexed[m].notna()
    frame = pd.DataFrame(
        {
            "resource_id": indexed["resource_id"],
            "n": present.astype(float),
            "x": indexed["_x"].where(present, 0.0),
            "y": indexed[m].fillna(0.0),
        },
        index=indexed.index,
    )
    frame["xy"] = frame["x"] * frame["y"]
    frame["xx"] = frame["x"] * frame["x"]
    sums = frame.groupby("resource_id")[["n", "x", "y", "xy", "xx"]].rolling("6h").sum()
    n, sx, sy, sxy, sxx = (sums[c].to_numpy() for c in ("n", "x", "y", "xy", "xx"))
    denominator = n * sxx - sx * sx
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (n * sxy - sx * sy) / denominator
    return np.where((n >= 2) & (denominator > 0), slope, np.nan)
