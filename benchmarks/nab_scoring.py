"""NAB's scoring rules (standard profile): windowed, sigmoid-scaled, normalised so that no
detections score 0 and perfect detection 100. Follows Numenta's sweeper."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

STANDARD = {"tp": 1.0, "fp": 0.11, "fn": 1.0}
PROBATION = 0.15


def scaled_sigmoid(position: float) -> float:
    if position >= 3.0:
        return -1.0
    return 2 / (1 + math.exp(5 * position)) - 1.0


@dataclass(frozen=True)
class FileScore:
    raw: float
    null: float
    perfect: float
    true_positives: int
    false_positives: int
    windows: int

    def normalised(self) -> float:
        if self.perfect == self.null:  # no scored windows: only the corpus score is defined
            return float("nan")
        return 100 * (self.raw - self.null) / (self.perfect - self.null)


def score_file(
    detections: Sequence[bool],
    window_spans: Sequence[tuple[int, int]],
    weights: dict[str, float] = STANDARD,
) -> FileScore:
    """Score one file's detections. `window_spans` are inclusive row-index ranges."""
    n = len(detections)
    probation = min(math.floor(PROBATION * n), PROBATION * 5000)
    max_tp = scaled_sigmoid(-1.0)
    window_of = [-1] * n
    for w, (start, end) in enumerate(window_spans):
        for i in range(start, end + 1):
            window_of[i] = w
    best = [None] * len(window_spans)  # best (earliest) score per detected window
    fp_total, fp_count = 0.0, 0
    previous_end, previous_width = None, None
    for i in range(n):
        w = window_of[i]
        if w >= 0:
            start, end = window_spans[w]
            width = end - start + 1
            weighted = scaled_sigmoid(-(end - i + 1) / width) * weights["tp"] / max_tp
        else:
            position = 3.0 if previous_end is None else abs(previous_end - i) / (previous_width - 1)
            weighted = scaled_sigmoid(position) * weights["fp"]
        if w >= 0 and i == window_spans[w][1]:
            previous_end, previous_width = i, window_spans[w][1] - window_spans[w][0] + 1
        if i < probation or not detections[i]:
            continue
        if w >= 0:
            best[w] = weighted if best[w] is None else max(best[w], weighted)
        else:
            fp_total += weighted
            fp_count += 1
    # A window wholly inside the probationary period is not scored at all, as in NAB.
    counted = [w for w, (_, end) in enumerate(window_spans) if end >= probation]
    scored = [best[w] for w in counted if best[w] is not None]
    misses = len(counted) - len(scored)
    raw = sum(scored) + fp_total - weights["fn"] * misses
    return FileScore(
        raw=raw,
        null=-weights["fn"] * len(counted),
        perfect=weights["tp"] * len(counted),
        true_positives=len(scored),
        false_positives=fp_count,
        windows=len(counted),
    )


def corpus_score(files: Sequence[FileScore]) -> float:
    raw = sum(f.raw for f in files)
    null = sum(f.null for f in files)
    perfect = sum(f.perfect for f in files)
    return 100 * (raw - null) / (perfect - null)
