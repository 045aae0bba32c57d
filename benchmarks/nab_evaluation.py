"""NAB evaluation of the anomaly detector (`mlplatform detect`'s code): every file of a NAB
folder, one method and one setting for all, scored with NAB's standard profile.

    .venv/bin/python -m benchmarks.nab_evaluation                 # development, 15 files
    .venv/bin/python -m benchmarks.nab_evaluation --validation    # validation, 24 files

On the development files it also prints a leave-one-file-out figure: for each file, the two
thresholds are chosen from a small grid on the other files' labels only, then that file is
scored with them. The design itself was chosen on these files, so neither figure is unseen.
The validation files only check a finished design: no labels there choose anything, and no
leave-one-out runs on them.

    .venv/bin/python -m benchmarks.nab_evaluation --perturbed 6   # and 6 nudged copies

`--perturbed N` first scores N copies of the files with every value multiplied by
1 + 1e-6 x noise: the detector is refitted on each, and the spread of their scores says how
far apart two figures must be to mean anything.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import time
from pathlib import Path

import numpy as np

from benchmarks.nab_scoring import FileScore, corpus_score, score_file
from mlplatform.lib.ingest.series_csv import read_series
from mlplatform.lib.models.detector import (
    DetectorSettings,
    causal_residuals,
    combine,
    rows_per_day,
    signals,
)

DEFAULT_NAB = Path(__file__).resolve().parents[2] / "shared" / "data" / "nab"
VALIDATION_NAB = DEFAULT_NAB.with_name("nab-validation")
# A relative change far below any metric's precision: the detector's model is refitted on
# each nudged copy, and the spread of the scores is how much a figure means (`--perturbed`).
NUDGE = 1e-6
GRID = {"surprise_threshold": (6.0, 8.0, 10.0, 12.0, 15.0), "novelty_threshold": (0.5, 0.55, 0.6)}


def window_spans(timestamps: np.ndarray, windows: list[list[str]]) -> list[tuple[int, int]]:
    spans = []
    for start, end in windows:
        lo = np.datetime64(start.replace(" ", "T"))
        hi = np.datetime64(end.replace(" ", "T"))
        inside = np.flatnonzero((timestamps >= lo) & (timestamps <= hi))
        if inside.size:
            spans.append((int(inside[0]), int(inside[-1])))
    return spans


@dataclasses.dataclass
class NabFile:
    name: str
    spans: list[tuple[int, int]]
    signal: dict[str, np.ndarray]
    period: int  # rows per day
    rows: int

    @classmethod
    def scanned(
        cls,
        name: str,
        values: np.ndarray,
        timestamps: np.ndarray,
        spans: list[tuple[int, int]],
        settings: DetectorSettings,
    ) -> NabFile:
        """The series' signals, computed once, as `mlplatform detect` computes them."""
        period = rows_per_day(timestamps)
        residuals = causal_residuals(values, timestamps, settings)
        signal = signals(values, residuals, settings, 0, period)
        return cls(name, spans, signal, period, values.size)

    def score(self, settings: DetectorSettings) -> FileScore:
        flagged = combine(self.signal, settings, self.period).is_anomaly
        return score_file(flagged.tolist(), self.spans)

    def cells(self, result: FileScore) -> str:
        """rows | windows | detected | false positives | NAB score, for a Markdown table."""
        alone = f"{result.normalised():.1f}" if result.windows else f"n/a (raw {result.raw:.2f})"
        return (
            f"{self.rows} | {result.windows} | {result.true_positives} | "
            f"{result.false_positives} | {alone}"
        )


def load(nab: Path, settings: DetectorSettings, nudge_seed: int | None = None) -> list[NabFile]:
    """Every labelled file with its signals, computed once (thresholds apply afterwards).
    With `nudge_seed`, each value is first multiplied by 1 + NUDGE x a standard normal draw."""
    windows = json.loads((nab / "combined_windows.json").read_text())
    rng = None if nudge_seed is None else np.random.default_rng(nudge_seed)
    files = []
    for name in sorted(windows):
        timestamps, values = read_series(nab / name)
        if rng is not None:
            values = values * (1 + NUDGE * rng.standard_normal(values.size))
        spans = window_spans(timestamps, windows[name])
        files.append(NabFile.scanned(name, values, timestamps, spans, settings))
    return files


def leave_one_file_out(files: list[NabFile], base: DetectorSettings) -> tuple[float, list[str]]:
    """Corpus score when each file's thresholds come from the other files' labels."""
    grid = [
        dataclasses.replace(base, **dict(zip(GRID, values, strict=True)))
        for values in itertools.product(*GRID.values())
    ]
    table = [[f.score(s) for f in files] for s in grid]
    held_out, chosen = [], []
    for k in range(len(files)):
        best = max(
            range(len(grid)),
            key=lambda g: corpus_score([s for i, s in enumerate(table[g]) if i != k]),
        )
        held_out.append(table[best][k])
        chosen.append(f"{grid[best].surprise_threshold:g}/{grid[best].novelty_threshold:g}")
    return corpus_score(held_out), chosen


def print_perturbed(folder: Path, settings: DetectorSettings, copies: int) -> None:
    scores = []
    for seed in range(1, copies + 1):
        results = [f.score(settings) for f in load(folder, settings, nudge_seed=seed)]
        scores.append(corpus_score(results))
        found = sum(r.true_positives for r in results)
        false = sum(r.false_positives for r in results)
        print(
            f"nudged copy {seed}: {scores[-1]:.1f} ({found} windows found, {false} false positives)"
        )
    print(
        f"{copies} nudged copies: median {np.median(scores):.1f}, "
        f"min {min(scores):.1f}, max {max(scores):.1f}\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nab", type=Path, default=DEFAULT_NAB, help="a NAB folder")
    parser.add_argument(
        "--validation", action="store_true", help=f"score {VALIDATION_NAB} (no leave-one-out)"
    )
    parser.add_argument(
        "--perturbed",
        type=int,
        default=0,
        metavar="N",
        help=f"also score N copies with every value nudged by a relative {NUDGE:g}",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    settings = DetectorSettings()
    folder = VALIDATION_NAB if args.validation else args.nab
    if args.perturbed:
        print_perturbed(folder, settings, args.perturbed)
    files = load(folder, settings)
    results = [f.score(settings) for f in files]
    held_out, chosen = (None, [""] * len(files))
    if not args.validation:
        held_out, chosen = leave_one_file_out(files, settings)
    print(
        "| file | rows | windows | detected | false positives | NAB score | held-out thresholds |"
    )
    print("|---|---|---|---|---|---|---")
    for f, s, c in zip(files, results, chosen, strict=True):
        print(f"| {f.name} | {f.cells(s)} | {c} |")
    print(
        f"\nNAB score (standard profile), all {len(results)} files, default settings "
        f"(surprise {settings.surprise_threshold:g}, novelty {settings.novelty_threshold:g}): "
        f"{corpus_score(results):.1f}"
    )
    if held_out is not None:
        print(f"Leave-one-file-out (thresholds never see the scored file's labels): {held_out:.1f}")
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
