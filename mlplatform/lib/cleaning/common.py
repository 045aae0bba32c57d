"""What cleaning metrics and cost lines share: the result type and later-arrival-wins dedup."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from mlplatform.lib.cleaning.quarantine import rejections


@dataclass(frozen=True)
class CleanResult:
    """A clean table, its quarantined rows, and how many raw rows it was built from."""

    clean: pl.DataFrame
    quarantine: pl.DataFrame
    accepted_rows: int
    raw_rows: int

    def tables(self) -> tuple[pl.DataFrame, ...]:
        """Every clean table the raw rows went into."""
        return (self.clean,)


ARRIVAL_ORDER = ("arrived_at", "source_file", "source_line")


def superseded(frame: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """Rejections for every row that a later arrival with the same key replaces.

    Arrival order is the landing file's arrival time, then its name, then the line: the last
    one wins, and each loser names its winner so that nothing is dropped silently.
    """
    ordered = frame.sort(list(ARRIVAL_ORDER), nulls_last=False)
    winner = pl.concat_str(
        [pl.col("source_file").last(), pl.lit(":"), pl.col("source_line").last().cast(pl.String)]
    ).over(key)
    is_loser = pl.int_range(pl.len()).over(key) < pl.len().over(key) - 1
    return rejections(
        ordered.with_columns(_winner=winner),
        is_loser,
        None,
        pl.lit("duplicate key, superseded by the later arrival at ") + pl.col("_winner"),
    )


@dataclass(frozen=True)
class Conservation:
    """raw = clean inputs + quarantined, as numbers a person can read."""

    raw_rows: int
    clean_source_rows: int
    quarantined: int

    @property
    def missing(self) -> int:
        return self.raw_rows - self.clean_source_rows - self.quarantined

    @property
    def holds(self) -> bool:
        return self.missing == 0

    def as_dict(self) -> dict[str, int]:
        return {
            "raw_rows": self.raw_rows,
            "clean_source_rows": self.clean_source_rows,
            "quarantined_rows": self.quarantined,
            "unaccounted_rows": self.missing,
        }
