"""How new the recent shape of a series is: the distance from the last m values to the most
similar m earlier values (a causal "left" nearest neighbour, as in matrix-profile discords).
A daily spike that recurs finds its twin and scores low; a shape never seen before scores high.
"""

from __future__ import annotations

import numpy as np

BLOCK = 512  # query rows per matrix product; fixed so that results never depend on length


def left_neighbour_distance(x: np.ndarray, m: int, history: int) -> np.ndarray:
    """Row i: Euclidean distance from x[i-m+1 .. i] to its nearest window x[j-m+1 .. j] with
    j <= i - m (no overlap) and j >= i - history. NaN where no such window exists.

    Query and candidate blocks are padded so that every matrix product has the same shape
    whatever the length of x: cutting the series never changes an earlier distance.
    """
    out = np.full(x.size, np.nan)
    if x.size < 2 * m:
        return out
    windows = np.lib.stride_tricks.sliding_window_view(x.astype(np.float64), m)
    squares = np.einsum("ij,ij->i", windows, windows)
    n = windows.shape[0]
    for start in range(0, n, BLOCK):
        lo = max(0, start - history)
        queries = np.zeros((BLOCK, m))
        real = windows[start : start + BLOCK]
        queries[: real.shape[0]] = real
        candidates = np.zeros((start + BLOCK - lo, m))
        known = windows[lo : start + BLOCK]
        candidates[: known.shape[0]] = known
        products = (queries @ candidates.T)[: real.shape[0], : known.shape[0]]
        d2 = squares[start : start + BLOCK, None] + squares[None, lo : start + BLOCK] - 2 * products
        i = np.arange(start, start + real.shape[0])[:, None]
        j = np.arange(lo, lo + known.shape[0])[None, :]
        d2[(j > i - m) | (j < i - history)] = np.inf
        nearest = d2.min(axis=1)
        found = np.isfinite(nearest)
        out[start + m - 1 : start + m - 1 + real.shape[0]] = np.where(
            found, np.sqrt(np.maximum(nearest, 0.0)), np.nan
        )
    return out
