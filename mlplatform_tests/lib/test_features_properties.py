"""Property test: both computation paths of feature set v1 against FEATURES.md read literally,
on hourly tables with gaps, runs of zeros, constant runs and nulls (the shapes idle and
switched-off resources produce)."""

from datetime import timedelta

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlplatform.lib.features.engineering import resource_hourly_features
from mlplatform_tests.factories import START
from mlplatform_tests.feature_reference import assert_close, reference

SCALES = {
    "cpu_utilization": 100.0,
    "memory_utilization": 100.0,
    "network_io": 1e10,
    "request_count": 1e6,
}


def readings(scale: float) -> st.SearchStrategy[float]:
    """Zero or a value a source can report: squares of 1e-300 underflow in any variance, and
    no metric is sampled at that resolution."""
    return st.one_of(st.just(0.0), st.floats(scale * 1e-9, scale))


@st.composite
def runs(draw, scale: float, hours: int) -> list[float | None]:
    """A metric as runs: zeros, one constant, nulls, or free values, in any order."""
    values: list[float | None] = []
    while len(values) < hours:
        length = draw(st.integers(1, 30))
        kind = draw(st.sampled_from(["zero", "constant", "null", "free"]))
        if kind == "zero":
            values += [0.0] * length
        elif kind == "null":
            values += [None] * length
        elif kind == "constant":
            values += [draw(readings(scale))] * length
        else:
            values += draw(st.lists(readings(scale), min_size=length, max_size=length))
    return values[:hours]


@st.composite
def hourly_tables(draw) -> pl.DataFrame:
    frames = []
    for r in range(draw(st.integers(1, 3))):
        hours = draw(st.integers(1, 90))
        present = draw(st.lists(st.booleans(), min_size=hours, max_size=hours))
        offset = draw(st.integers(0, 30))
        # a gap run of a day or more must appear: windows and lags that reach across it
        if hours > 40 and draw(st.booleans()):
            cut = draw(st.integers(5, hours - 30))
            present[cut : cut + 26] = [False] * 26
        columns = {m: draw(runs(scale, hours)) for m, scale in SCALES.items()}
        rows = [h for h in range(hours) if present[h]]
        if not rows:
            continue
        frames.append(
            pl.DataFrame(
                {
                    "resource_id": [f"i-{r}"] * len(rows),
                    "ts": [START + timedelta(hours=offset + h) for h in rows],
                    **{m: [v[h] for h in rows] for m, v in columns.items()},
                },
                schema_overrides={m: pl.Float64 for m in SCALES},
            )
        )
    if not frames:
        return draw(hourly_tables())
    return pl.concat(frames).with_columns(pl.col("ts").cast(pl.Datetime("us", "UTC")))


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(hourly_tables())
def test_fast_path_holds_the_contract(table):
    assert_close(resource_hourly_features(table), reference(table))


@PROPERTY
@given(hourly_tables())
def test_general_path_holds_the_contract(table):
    shifted = table.with_columns(pl.col("ts") + pl.duration(seconds=30))  # off the grid
    ours = resource_hourly_features(shifted).with_columns(pl.col("ts") - pl.duration(seconds=30))
    assert_close(ours, reference(table))
