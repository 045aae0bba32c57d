from pathlib import Path

import numpy as np
import pytest

from mlplatform.lib.ingest.series_csv import (
    SeriesFileError,
    describe_lines,
    read_series,
    steps_back,
    timestamp_text,
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "series.csv"
    path.write_text(text)
    return path


def test_reads_a_nab_file_with_its_clock_quirks(tmp_path: Path):
    """Offsets become UTC; a repeated timestamp (a daylight-saving skip, as NAB has) stays,
    in file order; integer values come back as floats."""
    path = write(
        tmp_path,
        "timestamp,value\n"
        "2014-03-09 01:55:00,1\n"
        "2014-03-09 03:00:00,2.5\n"
        "2014-03-09 03:00:00,-3e2\n"
        "2014-03-09T04:05:00+01:00, 4\n"
        "2014-03-09T03:10Z,5\n",
    )
    timestamps, values = read_series(path)
    assert timestamps.dtype == np.dtype("datetime64[us]")
    assert [str(t) for t in timestamps.astype("datetime64[m]")] == [
        "2014-03-09T01:55",
        "2014-03-09T03:00",
        "2014-03-09T03:00",
        "2014-03-09T03:05",
        "2014-03-09T03:10",
    ]
    np.testing.assert_array_equal(values, [1.0, 2.5, -300.0, 4.0, 5.0])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("timestamp,value\n", "no rows after the header"),
        ("time,value\n2026-01-01 00:00:00,1\n", "missing column(s) timestamp;"),
        (
            "timestamp;value\n2026-01-01 00:00:00;1\n",
            "missing column(s) timestamp, value; the comma-separated header has 'timestamp;value'",
        ),
        ("timestamp,value\n2026-01-01 00:00:00,1\n2026-13-01 00:00:00,2\n", "line 3: timestamp"),
        ("timestamp,value\n2026-01-01 00:00:00,1\n,2\n", "line 3: no timestamp"),
        ("timestamp,value\n2026-01-01 00:00:00,\n", "line 2: no value"),
        (
            "timestamp,value\n2026-01-01 00:00:00,1\n2026-01-01 01:00:00,abc\n",
            "line 3: value 'abc'",
        ),
        ("timestamp,value\n2026-01-01 00:00:00,nan\n", "line 2: value 'nan' is not a finite"),
        ("timestamp,value\n2026-01-01 00:00:00,inf\n", "line 2: value 'inf' is not a finite"),
    ],
)
def test_refuses_what_a_causal_model_cannot_read(tmp_path: Path, text: str, message: str):
    with pytest.raises(SeriesFileError) as raised:
        read_series(write(tmp_path, text))
    assert message in str(raised.value)


def test_rows_that_step_back_are_kept_in_arrival_order_and_named(tmp_path: Path):
    """An export that repeats an hour of rows, as real ones do: every row is read where it
    stands (one output row per input row), and the lines that step back are named."""
    text = (
        "timestamp,value\n2026-01-01 01:00:00,1\n2026-01-01 02:00:00,2\n"
        "2026-01-01 01:00:00,3\n2026-01-01 02:00:00,4\n2026-01-01 04:00:00,5\n"
        "2026-01-01 00:30:00,6\n"
    )
    timestamps, values = read_series(write(tmp_path, text))
    assert values.tolist() == [1, 2, 3, 4, 5, 6]
    assert steps_back(timestamps) == [4, 7]
    assert describe_lines(list(range(2, 12))) == "2, 3, 4, 5, 6 and 5 more"


def test_timestamps_are_written_back_in_the_form_they_were_read(tmp_path: Path):
    text = "timestamp,value\n2014-04-10 00:02:00,1\n2014-04-10 00:07:00,2\n"
    timestamps, _ = read_series(write(tmp_path, text))
    assert timestamp_text(timestamps).to_list() == ["2014-04-10 00:02:00", "2014-04-10 00:07:00"]
    finer = write(tmp_path, "timestamp,value\n2026-01-01 00:00:00,1\n2026-01-01 00:00:00.25,2\n")
    assert timestamp_text(read_series(finer)[0]).to_list() == [
        "2026-01-01 00:00:00.000000",
        "2026-01-01 00:00:00.250000",
    ]
