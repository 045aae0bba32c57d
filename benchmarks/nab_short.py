"""Short series made from the development files, to design the detector for short files
without looking at the validation set.

    .venv/bin/python -m benchmarks.nab_short

Emulations of each of the 15 development files, labelled with NAB's own window rule
(10 % of the file's rows shared among its anomalies, centred on each):
- coarse: the file averaged over `factor` rows so that about 1,600 rows remain (a slower
  sampling rate, as realAdExchange's hourly files have);
- cut: 1,600 consecutive rows around each labelled anomaly, the anomaly 65 % of the way in
  (a short recording at the original rate, as realTraffic's are);
- early: the same with the anomaly 25 % of the way in, just after NAB's 15 % probation;
- gappy: cuts of 2,400 rows with a third of their rows dropped at random (irregular sampling);
- glitch: the cuts with a glitch early on, 3 rows far beyond the cut's range 10 % of the way in
  (inside NAB's probation, so never scored itself): the largest values of the series come
  before its anomaly.
The coarse and cut figures are design figures, as tuned as the development score; early,
gappy and glitch were added after the design was chosen and were scored for it, nothing
chosen on them (docs/evaluation.md).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from benchmarks.nab_evaluation import DEFAULT_NAB, NabFile
from benchmarks.nab_scoring import corpus_score
from mlplatform.lib.ingest.series_csv import read_series
from mlplatform.lib.models.detector import DetectorSettings

ROWS = 1600
ANOMALY_AT = {"cut": 0.65, "early": 0.25}
KINDS = ("coarse", *ANOMALY_AT, "gappy", "glitch")
GLITCH_AT, GLITCH_ROWS = 0.10, 3


def nab_windows(rows: int, anomalies: list[int]) -> list[tuple[int, int]]:
    """NAB's labeller: a window of 10 % of the rows over the anomalies, centred on each."""
    if not anomalies:
        return []
    half = int(0.10 * rows / len(anomalies)) // 2
    return [(max(0, a - half), min(rows - 1, a + half)) for a in anomalies]


def coarse(
    values: np.ndarray, timestamps: np.ndarray, anomalies: list[int]
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    factor = max(2, round(values.size / ROWS))
    n = values.size // factor * factor
    means = values[:n].reshape(-1, factor).mean(axis=1)
    return means, timestamps[:n:factor], sorted({a // factor for a in anomalies if a < n})


def cuts(
    values: np.ndarray,
    timestamps: np.ndarray,
    anomalies: list[int],
    anomaly_at: float,
    rows: int = ROWS,
) -> list[tuple[np.ndarray, np.ndarray, list[int]]]:
    out, taken = [], set()
    for a in anomalies:
        start = min(max(0, a - int(anomaly_at * rows)), max(0, values.size - rows))
        if start in taken:
            continue
        taken.add(start)
        inside = [b - start for b in anomalies if start <= b < start + rows]
        out.append((values[start : start + rows], timestamps[start : start + rows], inside))
    return out


def gappy(
    values: np.ndarray, timestamps: np.ndarray, anomalies: list[int]
) -> list[tuple[np.ndarray, np.ndarray, list[int]]]:
    """Cuts of 2,400 rows with a third of their rows dropped at random (seeded), anomalies
    kept: sampling with gaps, as a sensor that reports irregularly."""
    rng = np.random.default_rng(0)
    out = []
    for v, t, inside in cuts(values, timestamps, anomalies, ANOMALY_AT["cut"], rows=3 * ROWS // 2):
        keep = np.sort(np.union1d(np.flatnonzero(rng.random(v.size) < 2 / 3), inside))
        out.append((v[keep], t[keep], [int(np.searchsorted(keep, a)) for a in inside]))
    return out


def glitch(values: np.ndarray) -> np.ndarray:
    """The series with `GLITCH_ROWS` values as far above its 99th percentile as that is above
    its 1st, `GLITCH_AT` of the way in."""
    low, high = np.quantile(values, [0.01, 0.99])
    out = values.copy()
    at = int(GLITCH_AT * values.size)
    out[at : at + GLITCH_ROWS] = high + (high - low)
    return out


def emulated(nab: Path) -> list[tuple[str, np.ndarray, np.ndarray, list[int]]]:
    labels = json.loads((nab / "combined_labels.json").read_text())
    series = []
    for name in sorted(labels):
        timestamps, values = read_series(nab / name)
        timestamps = timestamps.astype("datetime64[s]")
        marks = [np.datetime64(t.replace(" ", "T")) for t in labels[name]]
        anomalies = [int(np.searchsorted(timestamps, t)) for t in marks]
        series.append((f"coarse {name}", *coarse(values, timestamps, anomalies)))
        made = {kind: cuts(values, timestamps, anomalies, at) for kind, at in ANOMALY_AT.items()}
        made["gappy"] = gappy(values, timestamps, anomalies)
        made["glitch"] = [(glitch(v), t, inside) for v, t, inside in made["cut"]]
        for kind, parts in made.items():
            series += [(f"{kind}{k} {name}", *part) for k, part in enumerate(parts)]
    return series


def load(nab: Path, settings: DetectorSettings) -> list[NabFile]:
    return [
        NabFile.scanned(name, values, timestamps, nab_windows(values.size, anomalies), settings)
        for name, values, timestamps, anomalies in emulated(nab)
    ]


def kind_scores(files: list[NabFile], results: list) -> dict[str, float]:
    """The NAB score of each emulation kind (the series' name starts with its kind)."""
    kinds: dict[str, list] = {kind: [] for kind in KINDS}
    for f, result in zip(files, results, strict=True):
        kinds[f.name.split()[0].rstrip("0123456789")].append(result)
    return {kind: corpus_score(r) for kind, r in kinds.items()}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nab", type=Path, default=DEFAULT_NAB, help="the development folder")
    args = parser.parse_args()
    started = time.perf_counter()
    settings = DetectorSettings()
    files = load(args.nab, settings)
    results = [f.score(settings) for f in files]
    print("| series | rows | windows | detected | false positives | NAB score |")
    print("|---|---|---|---|---|---|")
    for f, s in zip(files, results, strict=True):
        print(f"| {f.name} | {f.cells(s)} |")
    by_kind = ", ".join(f"{k} {v:.1f}" for k, v in kind_scores(files, results).items())
    print(
        "\nNAB score, short emulations of the development files: "
        f"all {corpus_score(results):.1f}, {by_kind}"
    )
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
