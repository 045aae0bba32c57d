"""How new the recent shape of a series is: the distance from the last m values to the most
similar m earlier values (a causal "left" nearest neighbour, as in matrix-profile discords).
A daily spike that recurs finds its twin and scores low; a shape never seen before scores high.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from threadpoolctl import threadpool_limits

BLOCK = 512  # query rows per matrix product; fixed so that results never depend on length


def left_neighbour_distance(x: np.ndarray, m: int, history: int, start: int = 0) -> np.ndarray:
    """Row i: Euclidean distance from x[i-m+1 .. i] to its nearest window x[j-m+1 .. j] with
    j <= i - m (no overlap) and j >= i - history. NaN where no such window exists, and on the
    rows before `start`, which are not computed (a caller that needs only the later rows, such
    as serving a day after its history, saves their cost; the rows computed are the same).

    Query and candidate blocks are padded so that every matrix product has the same shape
    whatever the length of x: cutting the series never changes an earlier distance.
    """
    out = np.full(x.size, np.nan)
    if x.size < 2 * m:
        return out
    # One BLAS thread: these products are small, and up to four runs share the cores; with
    # BLAS's own threads spinning, four concurrent scorings ran 3.4x slower (docs/benchmarks.md).
    with threadpool_limits(limits=1, user_api="blas"):
        _fill_distances(out, x, m, history, start)
    return out


def _fill_distances(out: np.ndarray, x: np.ndarray, m: int, history: int, start: int) -> None:
    windows = np.lib.stride_tricks.sliding_window_view(x.astype(np.float64), m)
    squares = np.einsum("ij,ij->i", windows, windows)
    n = windows.shape[0]
    for first in range(max(0, start - m + 1), n, BLOCK):
        lo = max(0, first - history)
        queries = np.zeros((BLOCK, m))
        real = windows[first : first + BLOCK]
        queries[: real.shape[0]] = -2.0 * real  # exact: the product is -2 q.c, as if scaled
        width = first + BLOCK - lo
        candidates = np.zeros((width, m))
        known = windows[lo : first + BLOCK]
        candidates[: known.shape[0]] = known
        # |q - c|^2 = |q|^2 + (|c|^2 - 2 q.c): the first term is the row's own, so the
        # nearest c is found on the second alone
        partial = queries @ candidates.T
        candidate_squares = np.zeros(width)
        candidate_squares[: known.shape[0]] = squares[lo : first + BLOCK]
        partial += candidate_squares[None, :]
        np.putmask(partial, _excluded(first, lo, width, m, history), np.inf)
        nearest = partial[: real.shape[0]].min(axis=1) + squares[first : first + BLOCK]
        found = np.isfinite(nearest)
        out[first + m - 1 : first + m - 1 + real.shape[0]] = np.where(
            found, np.sqrt(np.maximum(nearest, 0.0)), np.nan
        )
    out[:start] = np.nan


def _excluded(first: int, lo: int, width: int, m: int, history: int) -> np.ndarray:
    """Which (query, candidate) pairs of a block are no neighbours: overlapping (j > i - m)
    or too old (j < i - history); padding lies beyond i - m, so it is excluded too. Once a
    block starts `history` windows in, the pattern depends on offsets only: built once."""
    if first - lo == history:
        return _steady_excluded(m, history)
    i = np.arange(first, first + BLOCK)[:, None]
    j = np.arange(lo, lo + width)[None, :]
    return (j > i - m) | (j < i - history)


@lru_cache(maxsize=8)
def _steady_excluded(m: int, history: int) -> np.ndarray:
    a = np.arange(BLOCK)[:, None]
    b = np.arange(BLOCK + history)[None, :]
    excluded = (b > a + history - m) | (b < a)
    excluded.flags.writeable = False
    return excluded
