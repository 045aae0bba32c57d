"""Landing-file readers: CSV, Parquet and JSON Lines into raw text tables.

Raw tables keep every source column as text, exactly as it arrived, plus where it came from
(`source_file`, `source_line`). Nothing is judged here beyond what stops a file from being read
at all: a file that cannot be read becomes one raw row carrying `file_error`, so the clean layer
quarantines it with its reason and no file disappears without a trace.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import polars as pl

SUPPORTED_SUFFIXES: tuple[str, ...] = (".csv", ".parquet", ".jsonl", ".ndjson")
_PARQUET_MAGIC = b"PAR1"


class LandingFileError(ValueError):
    """The whole file cannot be read; the message says why."""


class RefusedFile(OSError):
    """A landing entry that is not read at all (a link, a special file, too large); the
    message says why and becomes its quarantine reason."""


@dataclass(frozen=True)
class FileReport:
    """What happened to one landing file, for the materialization's metadata."""

    file: str
    rows: int
    error: str | None
    warnings: tuple[str, ...] = ()


def raw_schema(columns: Sequence[str]) -> dict[str, pl.DataType]:
    schema: dict[str, pl.DataType] = {c: pl.String() for c in columns}
    schema.update(
        source_file=pl.String(),
        source_line=pl.Int64(),
        arrived_at=pl.Datetime("us", "UTC"),
        file_error=pl.String(),
        extra=pl.String(),
    )
    return schema


def empty_raw(columns: Sequence[str]) -> pl.DataFrame:
    return pl.DataFrame(schema=raw_schema(columns))


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot >= 0 else ""


def _decode(data: bytes) -> tuple[str, bool]:
    """Text of the file, and whether invalid UTF-8 had to be replaced."""
    try:
        return data.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace"), True


def _check_magic(name: str, data: bytes) -> None:
    suffix = _suffix(name)
    if suffix == ".parquet" and not data.startswith(_PARQUET_MAGIC):
        kind = "text" if _looks_like_text(data[:512]) else "binary data"
        raise LandingFileError(f"not a Parquet file (no PAR1 header; it looks like {kind})")
    if suffix != ".parquet" and data.startswith(_PARQUET_MAGIC):
        raise LandingFileError(f"this is a Parquet file but its extension is {suffix!r}")


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in head


def _rows_frame(header: Sequence[str], rows: list[tuple[int, dict, str | None]]) -> pl.DataFrame:
    """Text columns of `header` (and of keys only some rows have, such as a ragged row's
    surplus values) plus `source_line` and `line_error`."""
    keys = dict.fromkeys(header)
    for _, record, _ in rows:
        keys.update(dict.fromkeys(record))
    data: dict[str, list] = {k: [r.get(k) for _, r, _ in rows] for k in keys}
    data["source_line"] = [line for line, _, _ in rows]
    data["line_error"] = [error for _, _, error in rows]
    schema = {k: pl.String() for k in keys} | {"source_line": pl.Int64(), "line_error": pl.String()}
    return pl.DataFrame(data, schema=schema)


def _csv_rows(text: str) -> tuple[list[str], list[tuple[int, dict, str | None]]]:
    """Python's csv module goes on past a ragged row where a columnar reader fails the whole
    file; such a row keeps its values (surplus ones under `_unnamed`) and its own reason."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return [], []
    rows: list[tuple[int, dict, str | None]] = []
    line = reader.line_num + 1
    for values in reader:
        if values:
            record: dict = dict(zip(header, (v if v != "" else None for v in values), strict=False))
            error = None
            if len(values) != len(header):
                error = f"expected {len(header)} fields, found {len(values)}"
                if len(values) > len(header):
                    record["_unnamed"] = json.dumps(values[len(header) :])
            rows.append((line, record, error))
        line = reader.line_num + 1
    return header, rows


def _jsonl_rows(text: str) -> tuple[list[str], list[tuple[int, dict, str | None]]]:
    header: dict[str, None] = {}
    rows: list[tuple[int, dict, str | None]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            rows.append(
                (number, {"_raw_line": line}, f"invalid JSON: {exc.msg} (column {exc.colno})")
            )
            continue
        if not isinstance(obj, dict):
            rows.append(
                (number, {"_raw_line": line}, f"expected a JSON object, got {type(obj).__name__}")
            )
            continue
        header.update(dict.fromkeys(obj))
        rows.append((number, {k: _text(v) for k, v in obj.items()}, None))
    return list(header), rows


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _parquet_frame(data: bytes) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(io.BytesIO(data))
    except Exception as exc:  # polars raises several types for a damaged file
        raise LandingFileError(f"unreadable Parquet file ({type(exc).__name__}: {exc})") from exc
    casts = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Datetime):
            fmt = "%Y-%m-%dT%H:%M:%S%.f" + ("%:z" if dtype.time_zone else "")
            casts.append(pl.col(name).dt.to_string(fmt))
        else:
            casts.append(pl.col(name).cast(pl.String))
    return frame.select(casts).with_columns(
        source_line=pl.int_range(1, pl.len() + 1, dtype=pl.Int64),
        line_error=pl.lit(None, dtype=pl.String),
    )


def _parse(suffix: str, data: bytes) -> pl.DataFrame:
    if suffix == ".parquet":
        return _parquet_frame(data)
    text, replaced = _decode(data)
    if "\x00" in text:
        raise LandingFileError("binary content (NUL bytes) in a text file")
    header, rows = _csv_rows(text) if suffix == ".csv" else _jsonl_rows(text)
    frame = _rows_frame(header, rows)
    if replaced:
        text_cols = [c for c in header]
        bad = pl.concat_str(
            [
                pl.when(pl.col(c).str.contains("\ufffd", literal=True)).then(pl.lit(c))
                for c in text_cols
            ],
            separator=", ",
            ignore_nulls=True,
        )
        frame = frame.with_columns(
            line_error=pl.coalesce(
                "line_error",
                pl.when(bad != "").then(pl.lit("invalid UTF-8 bytes in column(s) ") + bad),
            )
        )
    return frame


def _to_raw(
    frame: pl.DataFrame,
    source_file: str,
    arrived_at: datetime,
    columns: Sequence[str],
    file_error: str | None,
) -> pl.DataFrame:
    extras = [c for c in frame.columns if c not in set(columns) | {"source_line", "line_error"}]
    extra = pl.struct(extras).struct.json_encode() if extras else pl.lit(None, dtype=pl.String)
    return frame.select(
        *[
            pl.col(c) if c in frame.columns else pl.lit(None, dtype=pl.String).alias(c)
            for c in columns
        ],
        pl.lit(source_file).alias("source_file"),
        pl.col("source_line"),
        pl.lit(arrived_at).cast(pl.Datetime("us", "UTC")).alias("arrived_at"),
        pl.coalesce(pl.lit(file_error, dtype=pl.String), pl.col("line_error")).alias("file_error"),
        extra.alias("extra"),
    )


def file_error_row(
    source_file: str, arrived_at: datetime, columns: Sequence[str], reason: str
) -> pl.DataFrame:
    """The single raw row that stands for a file no row could be read from."""
    row = {c: [None] for c in columns} | {
        "source_file": [source_file],
        "source_line": [None],
        "arrived_at": [arrived_at],
        "file_error": [reason],
        "extra": [None],
    }
    return pl.DataFrame(row, schema=raw_schema(columns))


def read_landing_file(
    source_file: str,
    data: bytes,
    arrived_at: datetime,
    required: Sequence[str],
    optional: Sequence[str] = (),
) -> tuple[pl.DataFrame, FileReport]:
    """Read one landing file into the raw table of `required + optional` text columns.

    Never raises for bad content: an unreadable file gives one row with `file_error`; rows of a
    file missing required columns keep their values and carry that reason in `file_error`;
    columns beyond the known ones are kept as JSON in `extra`.
    """
    columns = [*required, *optional]
    suffix = _suffix(source_file)
    try:
        if suffix not in SUPPORTED_SUFFIXES:
            raise LandingFileError(
                f"unsupported extension {suffix or '(none)'!r}; expected one of "
                + ", ".join(SUPPORTED_SUFFIXES)
            )
        if not data:
            raise LandingFileError("0-byte file (an interrupted upload?)")
        _check_magic(source_file, data)
        frame = _parse(suffix, data)
    except LandingFileError as exc:
        row = file_error_row(source_file, arrived_at, columns, str(exc))
        return row, FileReport(source_file, 0, str(exc))

    header = [
        c for c in frame.columns if c not in ("source_line", "line_error", "_unnamed", "_raw_line")
    ]
    missing = [c for c in required if c not in header]
    file_error = f"missing required column(s): {', '.join(missing)}" if missing else None
    warnings = []
    extras = [h for h in header if h not in set(columns)]
    if extras:
        warnings.append(f"extra column(s) kept in 'extra': {', '.join(extras)}")
    if frame.height == 0:
        warnings.append("no data rows (header only)" if header else "no data rows")
    raw = _to_raw(frame, source_file, arrived_at, columns, file_error)
    line_errors = raw["file_error"].is_not_null().sum() if file_error is None else 0
    if line_errors:
        warnings.append(f"{line_errors} row(s) could not be parsed")
    return raw, FileReport(source_file, raw.height, file_error, tuple(warnings))
