"""ISO 8601 text to UTC timestamps, with offsets honoured and naive times read in a zone."""

from __future__ import annotations

import polars as pl

_NAIVE_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d")
_OFFSET_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z")
UTC = pl.Datetime("us", "UTC")


def _normalised(text: pl.Expr) -> pl.Expr:
    return text.str.strip_chars().str.replace(" ", "T").str.replace(r"(?i)Z$", "+00:00")


def parse_utc(
    text: pl.Expr, naive_timezone: str = "UTC", ambiguous: pl.Expr | str = "raise"
) -> pl.Expr:
    """Parse ISO 8601 text to `datetime[us, UTC]`; unparseable text and non-existent local
    times (a spring-forward gap) give null.

    Text with an offset is converted to UTC. Text without one is local time in
    `naive_timezone` (UTC by default, as the landing format says). At a fall-back change a
    local hour happens twice; `ambiguous` says per row which one is meant ('earliest' or
    'latest'), so files that repeat the hour keep both occurrences apart.
    """
    norm = _normalised(text)
    with_offset = pl.coalesce(
        [
            norm.str.to_datetime(f, strict=False, time_unit="us", time_zone="UTC")
            for f in _OFFSET_FORMATS
        ]
    )
    naive = pl.coalesce(
        [norm.str.to_datetime(f, strict=False, time_unit="us") for f in _NAIVE_FORMATS]
    )
    if naive_timezone == "UTC":
        localised = naive.dt.replace_time_zone("UTC")
    else:
        localised = naive.dt.replace_time_zone(
            naive_timezone, ambiguous=ambiguous, non_existent="null"
        ).dt.convert_time_zone("UTC")
    has_offset = norm.str.contains(r"[+-]\d{2}:?\d{2}$")
    return pl.when(has_offset).then(with_offset).otherwise(localised).cast(UTC)


def occurrence_ambiguity(*keys: str | pl.Expr) -> pl.Expr:
    """'earliest' for the first time a key occurs and 'latest' after: a file that repeats a
    local hour at a fall-back change writes the summer-time occurrence first."""
    rank = pl.int_range(pl.len()).over(list(keys))
    return pl.when(rank == 0).then(pl.lit("earliest")).otherwise(pl.lit("latest"))
