"""One `timestamp,value` CSV (NAB's layout), as `mlplatform detect` and `forecast` read it.

Both commands are causal: row i is scored or forecast from the rows before it in the file, in
the order the rows arrive, as a streaming detector would see them. Real exports repeat,
reorder and skip rows, so nothing is refused for order: a row whose timestamp steps back is
scored where it stands and `steps_back` names its line for a warning; it is never sorted
silently. Rows that share a timestamp are kept, in file order (NAB's
`ec2_request_latency_system_failure` repeats 03:00 twelve times where its clock skipped the
daylight-saving hour), and each is an observation. A gap is a gap: nothing is filled in.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl

from mlplatform.lib.ingest.timestamps import parse_utc

COLUMNS = ("timestamp", "value")


class SeriesFileError(ValueError):
    """A CSV that cannot be read as one series; the message names the line."""


def _first_line(mask: pl.Series) -> int:
    """The file's line number (header = 1) of the first row where `mask` holds."""
    return int(mask.arg_true()[0]) + 2


def _problem(line: int, column: str, text: str | None, expected: str) -> SeriesFileError:
    if text is None or not text.strip():
        return SeriesFileError(f"line {line}: no {column}")
    return SeriesFileError(f"line {line}: {column} {text!r} is not {expected}")


def read_series(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(timestamps as UTC `datetime64[us]`, values as float64) of a `timestamp,value` CSV.

    Timestamps are ISO 8601; ones with an offset are converted to UTC, ones without are read
    as UTC. Raises `SeriesFileError` for missing columns, no rows, an unreadable timestamp or
    a value that is not a finite number. Rows stay in file order (see `steps_back`).
    """
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except pl.exceptions.NoDataError:
        raise SeriesFileError("the file is empty") from None
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        found = ", ".join(repr(c) for c in frame.columns)
        raise SeriesFileError(
            f"missing column(s) {', '.join(missing)}; the comma-separated header has {found}"
        )
    if frame.is_empty():
        raise SeriesFileError("no rows after the header")
    parsed = frame.select(
        parse_utc(pl.col("timestamp")).alias("ts"),
        pl.col("value").str.strip_chars().cast(pl.Float64, strict=False).alias("number"),
    )
    unreadable = parsed["ts"].is_null()
    if unreadable.any():
        line = _first_line(unreadable)
        raise _problem(line, "timestamp", frame["timestamp"][line - 2], "an ISO 8601 date-time")
    not_finite = ~parsed["number"].is_finite().fill_null(False)
    if not_finite.any():
        line = _first_line(not_finite)
        raise _problem(line, "value", frame["value"][line - 2], "a finite number")
    timestamps = parsed["ts"].dt.replace_time_zone(None).to_numpy()
    return timestamps, parsed["number"].to_numpy()


def steps_back(timestamps: np.ndarray) -> list[int]:
    """The file lines (header = 1) whose timestamp is before the one on the line above."""
    back = pl.Series(timestamps.astype("datetime64[us]")).diff() < timedelta(0)
    return [int(i) + 2 for i in back.fill_null(False).arg_true()]


def describe_lines(lines: list[int], shown: int = 5) -> str:
    """`12, 40, 41 and 9 more` for a warning."""
    listed = ", ".join(str(n) for n in lines[:shown])
    return listed + (f" and {len(lines) - shown} more" if len(lines) > shown else "")


def timestamp_text(timestamps: np.ndarray) -> pl.Series:
    """The timestamps in NAB's form, `2014-04-10 00:02:00`, with microseconds only where one
    of them has a fraction of a second (so that no two rows' text is the same by rounding)."""
    series = pl.Series("timestamp", timestamps.astype("datetime64[us]"))
    whole = (series.dt.microsecond() == 0).all()
    return series.dt.strftime("%Y-%m-%d %H:%M:%S" if whole else "%Y-%m-%d %H:%M:%S%.6f")
