"""Every kind of bad input gives a clear message (file, line, column, reason), loses nothing,
and never stops the other files of the partition from being ingested."""

import io
import json
from datetime import UTC, date, datetime

import polars as pl
import pytest

from mlplatform.lib.cleaning.metrics import clean_metrics
from mlplatform.lib.ingest.catalog import METRICS_OPTIONAL, METRICS_REQUIRED
from mlplatform.lib.ingest.raw import ingest
from mlplatform_tests.conftest import ARRIVED

DAY = date(2026, 1, 3)
HEADER = "timestamp,resource_id,metric_name,value\n"
JSON_ROW = (
    b'{"timestamp": "2026-01-03T01:00:00Z", "resource_id": "i-1", '
    b'"metric_name": "request_count", "value": 3}\n'
)
GOOD = HEADER + "".join(
    f"2026-01-03T{h:02d}:00:00Z,i-good,cpu_utilization,{10 + h}\n" for h in range(24)
)


def _parquet(frame: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.write_parquet(buf)
    return buf.getvalue()


def run(bad_name: str, bad: bytes, naive_timezone: str = "UTC"):
    """Ingest a good file and the bad one for DAY; returns (clean result, file reports)."""
    files = {"metrics/2026-01-03/good.csv": GOOD.encode(), f"metrics/2026-01-03/{bad_name}": bad}
    later = datetime(2026, 1, 4, 13, tzinfo=UTC)
    arrivals = [(name, ARRIVED if "good" in name else later) for name in files]
    result = ingest(arrivals, files.__getitem__, METRICS_REQUIRED, METRICS_OPTIONAL)
    cleaned = clean_metrics(result.raw, DAY, naive_timezone)
    # nothing lost, and the good file always made it
    assert cleaned.raw_rows == result.raw.height
    assert cleaned.accepted_rows + cleaned.quarantine.height == cleaned.raw_rows
    good = cleaned.clean.filter(pl.col("resource_id") == "i-good")
    assert good.height == 24
    return cleaned, {r.file.rsplit("/", 1)[-1]: r for r in result.reports}


def reasons(cleaned) -> list[tuple[int | None, str | None, str]]:
    q = cleaned.quarantine.sort("source_line")
    assert q.height, "the bad file quarantined nothing"
    assert q["source_file"].str.starts_with("metrics/2026-01-03/bad").all(), q["source_file"]
    return list(zip(q["source_line"], q["column"], q["reason"], strict=True))


def test_missing_column_quarantines_every_row_with_reason():
    cleaned, reports = run("bad.csv", b"timestamp,resource_id,value\n2026-01-03T01:00:00Z,i-1,5\n")
    assert reports["bad.csv"].error == "missing required column(s): metric_name"
    [(line, _, reason)] = reasons(cleaned)
    assert line == 2 and "missing required column(s): metric_name" in reason
    assert json.loads(cleaned.quarantine["record"][0])["value"] == "5"  # values kept


def test_extra_columns_are_kept_and_reported_not_rejected():
    data = (
        b"timestamp,resource_id,metric_name,value,team\n"
        b"2026-01-03T01:00:00Z,i-1,request_count,5,web\n"
    )
    cleaned, reports = run("bad.csv", data)
    assert cleaned.quarantine.is_empty()
    assert any("extra column(s) kept in 'extra': team" in w for w in reports["bad.csv"].warnings)


def test_text_in_numeric_column():
    cleaned, _ = run("bad.csv", (HEADER + "2026-01-03T01:00:00Z,i-1,request_count,lots\n").encode())
    assert reasons(cleaned) == [(2, "value", "not a number: lots")]


@pytest.mark.parametrize("value", ["NaN", "inf", "-inf"])
def test_nan_and_infinity(value):
    cleaned, _ = run(
        "bad.csv", (HEADER + f"2026-01-03T01:00:00Z,i-1,request_count,{value}\n").encode()
    )
    [(line, column, reason)] = reasons(cleaned)
    assert (line, column) == (2, "value") and "NaN or infinite" in reason


def test_negative_counter_and_percentage_above_100():
    rows = (
        "2026-01-03T01:00:00Z,i-1,request_count,-3\n2026-01-03T01:00:00Z,i-1,cpu_utilization,140\n"
    )
    cleaned, _ = run("bad.csv", (HEADER + rows).encode())
    got = reasons(cleaned)
    assert got[0][:2] == (2, "value") and "negative value" in got[0][2]
    assert got[1][:2] == (3, "value") and "percentage above 100" in got[1][2]


def test_duplicate_keys_later_arrival_wins_and_loser_is_quarantined():
    # bad.csv arrives after good.csv and repeats its 05:00 sample with another value
    cleaned, _ = run(
        "bad.csv", (HEADER + "2026-01-03T05:00:00Z,i-good,cpu_utilization,99\n").encode()
    )
    [(line, _, reason)] = list(
        zip(
            cleaned.quarantine["source_line"],
            cleaned.quarantine["column"],
            cleaned.quarantine["reason"],
            strict=True,
        )
    )
    assert cleaned.quarantine["source_file"][0].endswith("good.csv") and line == 7
    assert (
        reason == "duplicate key, superseded by the later arrival at metrics/2026-01-03/bad.csv:2"
    )
    hour5 = cleaned.clean.filter(
        (pl.col("resource_id") == "i-good") & (pl.col("ts").dt.hour() == 5)
    )
    assert hour5["cpu_utilization"].item() == 99


def test_timestamps_with_offsets_are_converted_to_utc():
    rows = (
        "2026-01-03T12:30:00+02:00,i-1,request_count,4\n"
        "2026-01-03T10:00:00-05:00,i-1,request_count,6\n"
    )
    cleaned, _ = run("bad.csv", (HEADER + rows).encode())
    got = cleaned.clean.filter(pl.col("resource_id") == "i-1").sort("ts")
    assert [t.hour for t in got["ts"]] == [10, 15]
    assert got["request_count"].to_list() == [4, 6]


def test_naive_timestamps_are_utc_by_default():
    cleaned, _ = run("bad.csv", (HEADER + "2026-01-03 07:15:00,i-1,request_count,4\n").encode())
    ts = cleaned.clean.filter(pl.col("resource_id") == "i-1")["ts"].item()
    assert ts == datetime(2026, 1, 3, 7, tzinfo=UTC)


def test_dst_repeat_and_jump_back_in_local_time_files():
    """A NAB-style local-time file at the autumn change: 01:00-01:59 happens twice and the
    file jumps back in time. Both occurrences are kept as distinct UTC hours."""
    day = "2026-11-01"  # US fall-back: 02:00 EDT -> 01:00 EST
    local = ["00:30", "01:00", "01:30", "01:00", "01:30", "02:00"]
    rows = "".join(f"{day}T{t}:00,i-1,request_count,{i}\n" for i, t in enumerate(local, start=1))
    files = {"metrics/2026-11-01/nab.csv": (HEADER + rows).encode()}
    result = ingest(
        [(n, ARRIVED) for n in files], files.__getitem__, METRICS_REQUIRED, METRICS_OPTIONAL
    )
    cleaned = clean_metrics(result.raw, date(2026, 11, 1), naive_timezone="America/New_York")
    assert cleaned.quarantine.is_empty()
    hours = cleaned.clean.sort("ts").select(pl.col("ts").dt.hour(), "request_count").rows()
    # 00:30 EDT = 04:30Z; 01:00/01:30 EDT = 05Z; 01:00/01:30 EST = 06Z; 02:00 EST = 07Z
    assert hours == [(4, 1.0), (5, 2.0 + 3.0), (6, 4.0 + 5.0), (7, 6.0)]


def test_nonexistent_local_time_is_quarantined():
    rows = "2026-03-08T02:30:00,i-1,request_count,1\n"  # US spring-forward gap
    files = {"metrics/2026-03-08/bad.csv": (HEADER + rows).encode()}
    result = ingest(
        [(n, ARRIVED) for n in files], files.__getitem__, METRICS_REQUIRED, METRICS_OPTIONAL
    )
    cleaned = clean_metrics(result.raw, date(2026, 3, 8), naive_timezone="America/New_York")
    assert cleaned.quarantine["reason"].to_list() == [
        "unparseable timestamp or non-existent local time: 2026-03-08T02:30:00"
    ]


def test_rows_far_outside_the_partition():
    cleaned, _ = run("bad.csv", (HEADER + "2019-06-01T00:00:00Z,i-1,request_count,4\n").encode())
    [(line, column, reason)] = reasons(cleaned)
    assert (line, column) == (2, "ts") and reason.startswith("outside the partition day 2026-01-03")


def test_header_only_file_is_reported_empty():
    cleaned, reports = run("bad.csv", HEADER.encode())
    assert cleaned.quarantine.is_empty()
    assert reports["bad.csv"].warnings == ("no data rows (header only)",)


def test_zero_byte_file_is_one_quarantined_file_error():
    cleaned, reports = run("bad.csv", b"")
    assert reports["bad.csv"].error == "0-byte file (an interrupted upload?)"
    assert reasons(cleaned) == [(None, None, "0-byte file (an interrupted upload?)")]


def test_truncated_parquet_file():
    whole = _parquet(
        pl.DataFrame(
            {
                "timestamp": ["2026-01-03T00:00:00Z"],
                "resource_id": ["i-1"],
                "metric_name": ["request_count"],
                "value": [1.0],
            }
        )
    )
    cleaned, reports = run("bad.parquet", whole[: len(whole) // 2])
    assert reports["bad.parquet"].error.startswith("unreadable Parquet file")
    [(line, _, reason)] = reasons(cleaned)
    assert line is None and reason.startswith("unreadable Parquet file")


def test_non_utf8_bytes_quarantine_only_their_row():
    data = (
        HEADER + "2026-01-03T01:00:00Z,i-1,request_count,4\n"
    ).encode() + b"2026-01-03T02:00:00Z,i-\xff\xfe,request_count,5\n"
    cleaned, _ = run("bad.csv", data)
    assert reasons(cleaned) == [(3, None, "invalid UTF-8 bytes in column(s) resource_id")]
    assert cleaned.accepted_rows == 24 + 1


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        (
            "bad.parquet",
            (HEADER + "2026-01-03T01:00:00Z,i-1,request_count,4\n").encode(),
            "not a Parquet file (no PAR1 header; it looks like text)",
        ),
        (
            "bad.csv",
            _parquet(pl.DataFrame({"a": [1]})),
            "this is a Parquet file but its extension is '.csv'",
        ),
        ("bad.jsonl", b"\x00\x01\x02binary", "binary content (NUL bytes) in a text file"),
        (
            "bad.xlsx",
            b"PK\x03\x04",
            "unsupported extension '.xlsx'; expected one of .csv, .parquet, .jsonl, .ndjson",
        ),
    ],
)
def test_wrong_format_for_extension(name, data, message):
    cleaned, reports = run(name, data)
    assert reports[name].error == message
    assert reasons(cleaned) == [(None, None, message)]


def test_ragged_csv_row_and_invalid_json_line_keep_their_values():
    cleaned, _ = run(
        "bad.csv", (HEADER + "2026-01-03T01:00:00Z,i-1,request_count,4,surplus\n").encode()
    )
    assert reasons(cleaned) == [(2, None, "expected 4 fields, found 5")]
    assert "surplus" in cleaned.quarantine["record"][0]
    lines = JSON_ROW + b'{"timestamp": oops\n'
    cleaned, _ = run("bad.jsonl", lines)
    [(line, _, reason)] = reasons(cleaned)
    assert line == 2 and reason.startswith("invalid JSON")
    assert "oops" in cleaned.quarantine["record"][0]


def test_json_lines_and_parquet_good_rows_are_read():
    cleaned, _ = run("bad.jsonl", JSON_ROW)
    assert cleaned.clean.filter(pl.col("resource_id") == "i-1")["request_count"].item() == 3
    frame = pl.DataFrame(
        {
            "timestamp": [datetime(2026, 1, 3, 2, tzinfo=UTC)],
            "resource_id": ["i-2"],
            "metric_name": ["cpu_utilization"],
            "value": [12.5],
        }
    )
    cleaned, _ = run("bad.parquet", _parquet(frame))
    assert cleaned.clean.filter(pl.col("resource_id") == "i-2")["cpu_utilization"].item() == 12.5
