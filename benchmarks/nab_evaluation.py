"""NAB evaluation of the anomaly detector: every file of ../shared/data/nab, one method and
one setting for all, scored with NAB's standard profile.

    .venv/bin/python -m benchmarks.nab_evaluation [--nab ../shared/data/nab]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import polars as pl

from mlplatform.lib.detection import DetectorSettings, score_series
from mlplatform.lib.nab import corpus_score, score_file

DEFAULT_NAB = Path(__file__).resolve().parents[2] / "shared" / "data" / "nab"


def window_spans(timestamps: np.ndarray, windows: list[list[str]]) -> list[tuple[int, int]]:
    spans = []
    for start, end in windows:
        lo = np.datetime64(start.replace(" ", "T"))
        hi = np.datetime64(end.replace(" ", "T"))
        inside = np.flatnonzero((timestamps >= lo) & (timestamps <= hi))
        if inside.size:
            spans.append((int(inside[0]), int(inside[-1])))
    return spans


def evaluate(nab: Path, settings: DetectorSettings) -> list[tuple[str, object]]:
    windows = json.loads((nab / "combined_windows.json").read_text())
    results = []
    for name in sorted(windows):
        frame = pl.read_csv(nab / name, try_parse_dates=True)
        timestamps = frame["timestamp"].to_numpy()
        _, detections = score_series(frame["value"].to_numpy(), timestamps, settings)
        results.append(
            (name, score_file(detections.tolist(), window_spans(timestamps, windows[name])))
        )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nab", type=Path, default=DEFAULT_NAB)
    args = parser.parse_args()
    started = time.perf_counter()
    results = evaluate(args.nab, DetectorSettings())
    print("| file | windows | detected | false positives | NAB score |")
    print("|---|---|---|---|---|")
    for name, s in results:
        counts = f"{s.windows} | {s.true_positives} | {s.false_positives}"
        alone = f"{s.normalised():.1f}" if s.windows else f"n/a (raw {s.raw:.2f})"
        print(f"| {name} | {counts} | {alone} |")
    total = corpus_score([s for _, s in results])
    print(f"\nNAB score (standard profile), all {len(results)} files: {total:.1f}")
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
