"""Multi-metric detection on the SMD development machines: each metric file alone (as
`mlplatform detect` scores it) against the machine's files together (`--group folder`), by
the set's own rules (its README).

    .venv/bin/python -m benchmarks.smd_evaluation [--smd ../shared/data/smd-dev]

On each file's scored part (after its `history_rows.json` rows): detections at most 60 minutes
apart form one event; event precision is the share of events that touch a window of that file,
event recall the share of windows with a detection inside, F1 their harmonic mean, and the delay
the mean time from a window's start to its first detection. Counts are pooled over every file.
The grouping's settings are the serving defaults, chosen on the simulator; these files chose
nothing, but they were looked at while the grouping was built, so the figures are not unseen.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mlplatform.lib.ingest.series_csv import read_series
from mlplatform.lib.models.group_detection import score_group

DEFAULT_SMD = Path(__file__).resolve().parents[2] / "shared" / "data" / "smd-dev"
EVENT_GAP = np.timedelta64(60, "m")


@dataclass
class EventCounts:
    events: int = 0
    events_touching: int = 0
    windows: int = 0
    windows_found: int = 0
    delays_minutes: list[float] = field(default_factory=list)

    def add(self, times: np.ndarray, flagged: np.ndarray, windows: list[tuple]) -> None:
        hits = times[flagged]
        spans = [
            (np.datetime64(a.replace(" ", "T")), np.datetime64(b.replace(" ", "T")))
            for a, b in windows
        ]
        if hits.size:
            breaks = np.flatnonzero(np.diff(hits) > EVENT_GAP)
            starts = np.concatenate([[0], breaks + 1])
            ends = np.concatenate([breaks, [hits.size - 1]])
            for s, e in zip(starts, ends, strict=True):
                self.events += 1
                self.events_touching += any(hits[s] <= b and hits[e] >= a for a, b in spans)
        for a, b in spans:
            self.windows += 1
            inside = hits[(hits >= a) & (hits <= b)]
            if inside.size:
                self.windows_found += 1
                self.delays_minutes.append(float((inside[0] - a) / np.timedelta64(1, "m")))

    def line(self, name: str) -> str:
        precision = self.events_touching / self.events if self.events else float("nan")
        recall = self.windows_found / self.windows if self.windows else float("nan")
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        delay = np.mean(self.delays_minutes) if self.delays_minutes else float("nan")
        return (
            f"| {name} | {self.events} | {precision:.3f} | {self.windows_found}/{self.windows} "
            f"| {recall:.3f} | {f1:.3f} | {delay:.0f} |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smd", type=Path, default=DEFAULT_SMD)
    args = parser.parse_args()
    windows = json.loads((args.smd / "combined_windows.json").read_text())
    history = json.loads((args.smd / "history_rows.json").read_text())
    started = time.perf_counter()
    alone, together = EventCounts(), EventCounts()
    for machine in sorted(p for p in args.smd.iterdir() if p.is_dir()):
        files = sorted(machine.glob("*.csv"), key=lambda p: int(p.stem) if p.stem.isdigit() else 0)
        series = {f.stem: read_series(f) for f in files}
        grouped = score_group(series, machine.name)
        for f in files:
            key = f"{machine.name}/{f.name}"
            times = series[f.stem][0]
            scored_part = np.arange(times.size) >= history[key]
            single = grouped.scored[f.stem].is_anomaly & scored_part
            alone.add(times, single, windows.get(key, []))
            together.add(times, grouped.is_anomaly[f.stem] & scored_part, windows.get(key, []))
        print(
            f"{machine.name}: {len(files)} files, {grouped.incidents.height} incidents", flush=True
        )
    print(
        "\n| detection | events | event precision | windows found | event recall | F1 "
        "| delay (min) |"
    )
    print("|---|---|---|---|---|---|---|")
    print(alone.line("each file alone (`detect`)"))
    print(together.line("the machine's files together (`detect --group folder`)"))
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
