from datetime import date, timedelta
from pathlib import Path

import pytest

from mlplatform.settings import catchup_days, partitions_start

TODAY = date(2026, 11, 24)


def test_partitions_start_at_the_first_landed_day_unless_set(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("MLPLATFORM_PARTITIONS_START")
    monkeypatch.setenv("MLPLATFORM_DATA_DIR", str(tmp_path))
    assert partitions_start(TODAY) == TODAY  # nothing landed: no day to show yet
    for day in ("2026-11-10", "2026-11-03"):
        (tmp_path / "landing" / "metrics" / day).mkdir(parents=True)
        (tmp_path / "landing" / "metrics" / day / "a.csv").write_text("x\n")
    assert partitions_start(TODAY) == date(2026, 11, 3)
    monkeypatch.setenv("MLPLATFORM_PARTITIONS_START", "2026-10-01")
    assert partitions_start(TODAY) == date(2026, 10, 1)


def test_scaleout_does_not_list_s3_while_loading(monkeypatch):
    monkeypatch.delenv("MLPLATFORM_PARTITIONS_START")
    monkeypatch.setenv("MLPLATFORM_DEPLOYMENT", "scaleout")
    monkeypatch.setenv("MLPLATFORM_CATCHUP_DAYS", "30")
    assert partitions_start(TODAY) == TODAY - timedelta(days=30)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MLPLATFORM_PARTITIONS_START", "01/02/2026", "must be YYYY-MM-DD"),
        ("MLPLATFORM_CATCHUP_DAYS", "0", "whole number of at least 1"),
        ("MLPLATFORM_CATCHUP_DAYS", "ninety", "whole number of at least 1"),
    ],
)
def test_bad_settings_are_named(monkeypatch, name: str, value: str, message: str):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=message):
        partitions_start(TODAY) if name.endswith("START") else catchup_days()
