"""FEATURES.md read literally, one row at a time, in exact arithmetic where the contract
compares with zero: the reference that both computation paths are held to."""

import statistics
from datetime import timedelta
from fractions import Fraction

import numpy as np
import polars as pl

from mlplatform.lib.features.engineering import LAG_METRICS, LAGS_HOURS, ROLLING_METRICS


def reference(frame: pl.DataFrame) -> pl.DataFrame:
    rows = list(frame.iter_rows(named=True))
    by_key = {(r["resource_id"], r["ts"]): r for r in rows}
    origin = frame["ts"].min()
    out = []
    for row in rows:
        rid, ts = row["resource_id"], row["ts"]
        earliest = ts - timedelta(hours=24)
        same = [r for r in rows if r["resource_id"] == rid and earliest < r["ts"] <= ts]
        feats = {"resource_id": rid, "ts": ts}
        for m in ROLLING_METRICS:
            day = [r[m] for r in same if r[m] is not None]
            six = [
                (r["ts"], r[m])
                for r in same
                if r["ts"] > ts - timedelta(hours=6) and r[m] is not None
            ]
            # statistics computes with fractions: a window of zeros has mean exactly 0
            mean = float(statistics.mean(day)) if day else None
            std = float(statistics.stdev(day)) if len(day) >= 2 else None
            feats |= {
                f"{m}_mean_24h": mean,
                f"{m}_min_24h": min(day) if day else None,
                f"{m}_max_24h": max(day) if day else None,
                f"{m}_std_24h": std,
                f"{m}_p95_24h": float(np.percentile(day, 95)) if day else None,
                f"{m}_volatility_24h": std / mean if std is not None and mean else None,
            }
            feats[f"_{m}_level_6h"] = max((abs(v) for _, v in six), default=0.0)
            if len(six) >= 2:
                x = [Fraction((t - origin).total_seconds()) / 3600 for t, _ in six]
                feats[f"{m}_trend_6h"] = _slope(x, [Fraction(v) for _, v in six])
            else:
                feats[f"{m}_trend_6h"] = None
        for m in LAG_METRICS:
            for h in LAGS_HOURS:
                lagged = by_key.get((rid, ts - timedelta(hours=h)))
                feats[f"{m}_lag_{h}h"] = lagged[m] if lagged else None
        out.append(feats)
    return pl.DataFrame(out, infer_schema_length=None)


def _slope(x: list[Fraction], y: list[Fraction]) -> float:
    """Least-squares slope, exactly: a constant run has slope 0, not a rounding residue."""
    mx, my = sum(x) / len(x), sum(y) / len(y)
    return float(
        sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True)) / sum((a - mx) ** 2 for a in x)
    )


def assert_close(ours: pl.DataFrame, expected: pl.DataFrame, scale: float = 1.0) -> None:
    """Within FEATURES.md's tolerance (1e-6; trend 1e-4), or `scale` times tighter; nulls
    exactly where the reference has them."""
    joined = expected.join(ours, on=["resource_id", "ts"], suffix="__ours", how="left")
    assert joined.height == ours.height == expected.height
    for c in expected.columns:
        if c in ("resource_id", "ts") or c.startswith("_"):
            continue
        if not expected[c].dtype.is_numeric():
            assert joined[f"{c}__ours"].equals(joined[c], check_names=False), c
            continue
        a = joined[f"{c}__ours"].cast(pl.Float64).to_numpy()
        b = joined[c].cast(pl.Float64).to_numpy()
        differ = np.flatnonzero(np.isnan(a) != np.isnan(b))
        assert differ.size == 0, (
            f"{c}: nulls differ at {differ.size} rows, first "
            f"{joined.row(int(differ[0]), named=True)}"
            if differ.size
            else ""
        )
        if c.endswith("trend_6h"):
            # a slope near 0 from values near 1e9 keeps the digits float64 has relative to
            # those values, not relative to itself
            tol = 1e-4 * scale
            name = f"_{c.removesuffix('_trend_6h')}_level_6h"
            level = joined[name].to_numpy() if name in joined.columns else 0.0
            atol = np.maximum(tol * 1e-3, 1e-12 * level)
        else:
            tol = 1e-6 * scale
            atol = tol * 1e-3
        ok = np.isnan(b) | (np.abs(a - b) <= atol + tol * np.abs(b))
        bad = np.flatnonzero(~ok)
        assert bad.size == 0, (
            f"{c}: {bad.size} rows beyond tolerance, first ours {a[bad[0]]} vs {b[bad[0]]} "
            f"at {joined.row(int(bad[0]), named=True)}"
            if bad.size
            else ""
        )
