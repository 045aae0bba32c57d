"""The naive guard: a naive forecast replaces the model once it has been clearly better over
the last window of known targets, not one origin earlier, whether steps are hours or rows."""

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from mlplatform.lib.models.naive_guard import guarded

N, WINDOW, BREAK = 200, 24, 120  # the model is exact up to origin BREAK, then far off


def _frame(by_time: bool, naive_error: float = 5.0) -> pl.DataFrame:
    """Two series, horizons 1-3: the value at row i is i; the model forecasts each target
    exactly up to origin BREAK and 1,000 off after it; the naive forecast is always
    `naive_error` off."""
    rows, k = np.repeat(np.arange(N), 3), np.tile(np.arange(1, 4), N)
    target = (rows + k).astype(float)
    start = datetime(2026, 1, 1)
    frame = pl.DataFrame(
        {
            "rid": "a",
            "pos": [start + timedelta(hours=int(r)) for r in rows] if by_time else rows,
            "horizon": k,
            "forecast": np.where(rows <= BREAK, target, target + 1_000),
            "naive_a": target + naive_error,
            "_y_future": np.where(target < N, target, np.nan),
        },
        nan_to_null=True,
    )
    return pl.concat([frame, frame.with_columns(rid=pl.lit("b"))])


def _guard(frame: pl.DataFrame, by_time: bool) -> pl.DataFrame:
    return guarded(
        frame,
        series=("rid",),
        position="pos",
        offset=pl.duration(hours=pl.col("horizon")) if by_time else pl.col("horizon"),
        naive={"naive/a": "naive_a"},
        model="m/1",
        window=f"{WINDOW}h" if by_time else f"{WINDOW}i",
        least=WINDOW // 4,
        margin=0.8,
    )


@pytest.mark.parametrize("by_time", [True, False], ids=["hours", "rows"])
def test_the_naive_forecast_replaces_the_model_as_soon_as_its_errors_are_known(by_time):
    out = _guard(_frame(by_time), by_time).with_columns(
        row=pl.int_range(pl.len()).over("rid", "horizon", order_by="pos")
    )
    for (k,), part in out.group_by(["horizon"]):
        by = part.filter(pl.col("rid") == "a").sort("row")["forecast_by"].to_list()
        # origin BREAK + 1's error is known at BREAK + 1 + k, not a row earlier
        first = by.index("naive/a")
        assert first == BREAK + 1 + k, (k, first)
        assert set(by[first:]) == {"naive/a"} and set(by[:first]) == {"m/1"}
    replaced = out.filter(pl.col("forecast_by") == "naive/a")
    assert (replaced["forecast"] - replaced["_y_future"]).abs().max() == pytest.approx(5.0)
    assert out.group_by("rid").len()["len"].to_list() == [3 * N, 3 * N]  # no row lost or doubled


def test_a_naive_forecast_not_clearly_better_leaves_the_model_alone():
    """After the break the naive forecast is 900 off and the model 1,000: better, but not
    by the margin."""
    frame = _frame(by_time=False, naive_error=900.0)
    out = _guard(frame, by_time=False)
    assert out["forecast_by"].unique().to_list() == ["m/1"]
    assert out.sort("rid", "pos", "horizon")["forecast"].equals(
        frame.sort("rid", "pos", "horizon")["forecast"]
    )


def test_the_guard_waits_for_a_quarter_of_its_window():
    """With the first origins' targets unknown, no MAE exists until `least` of them are."""
    frame = _frame(by_time=False).with_columns(
        forecast=pl.col("forecast") + 1_000,  # the model is far off from the start
        _y_future=pl.when(pl.col("pos") < 100).then(None).otherwise(pl.col("_y_future")),
    )
    out = _guard(frame, by_time=False).filter((pl.col("rid") == "a") & (pl.col("horizon") == 1))
    by = out.sort("pos")["forecast_by"].to_list()
    # origin 100's target is known at 101; the sixth such error (99 + 6) is known at 106
    assert by.index("naive/a") == 99 + WINDOW // 4 + 1
