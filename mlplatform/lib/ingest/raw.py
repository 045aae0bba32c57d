"""A landing folder (one source, one day) into its raw table, file by file."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from mlplatform.lib.ingest.landing import (
    FileReport,
    RefusedFile,
    empty_raw,
    file_error_row,
    read_landing_file,
)


@dataclass(frozen=True)
class IngestResult:
    raw: pl.DataFrame
    reports: list[FileReport]

    @property
    def failed_files(self) -> list[FileReport]:
        return [r for r in self.reports if r.error]


def ingest(
    files: Iterable[tuple[str, datetime]],
    read: Callable[[str], bytes],
    required: Sequence[str],
    optional: Sequence[str] = (),
    progress: Callable[[int, FileReport], None] | None = None,
) -> IngestResult:
    """Read every (name, arrival time) file; one bad file never stops the others.

    An I/O failure on one file (permissions, a vanished file) becomes that file's error row,
    and so does a file `read` refuses (`RefusedFile`: a link, a special file, too large).
    """
    frames = [empty_raw([*required, *optional])]
    reports = []
    for i, (name, arrived_at) in enumerate(files, start=1):
        try:
            data = read(name)
        except RefusedFile as exc:
            reason = f"refused: {exc}"
            frames.append(file_error_row(name, arrived_at, [*required, *optional], reason))
            report = FileReport(name, 0, reason)
        except OSError as exc:
            reason = f"could not read file: {exc}"
            frames.append(file_error_row(name, arrived_at, [*required, *optional], reason))
            report = FileReport(name, 0, reason)
        else:
            frame, report = read_landing_file(name, data, arrived_at, required, optional)
            frames.append(frame)
        reports.append(report)
        if progress:
            progress(i, report)
    return IngestResult(pl.concat(frames), reports)


def file_report_table(reports: list[FileReport]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "file": [r.file for r in reports],
            "rows": [r.rows for r in reports],
            "error": [r.error for r in reports],
            "warnings": ["; ".join(r.warnings) or None for r in reports],
        },
        schema={"file": pl.String, "rows": pl.Int64, "error": pl.String, "warnings": pl.String},
    )
