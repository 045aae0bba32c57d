"""The detector's shape-novelty and range signals on series built to show each case."""

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from mlplatform.lib.models import novelty as novelty_module
from mlplatform.lib.models.detector import DetectorSettings, beyond_range, novelty
from mlplatform.lib.models.novelty import BLOCK, left_neighbour_distance


def brute_force(x: np.ndarray, m: int, history: int) -> np.ndarray:
    out = np.full(x.size, np.nan)
    for i in range(m - 1, x.size):
        here = x[i - m + 1 : i + 1]
        earlier = [
            np.linalg.norm(here - x[j - m + 1 : j + 1])
            for j in range(max(m - 1, i - history), i - m + 1)
        ]
        if earlier:
            out[i] = min(earlier)
    return out


def test_left_neighbour_distance_matches_brute_force_across_blocks():
    x = np.random.default_rng(3).normal(size=BLOCK + 300)
    fast = left_neighbour_distance(x, 8, history=200)
    np.testing.assert_allclose(fast, brute_force(x, 8, 200), rtol=1e-9, atol=1e-9)


def test_the_search_runs_on_one_blas_thread_and_restores_the_callers(monkeypatch):
    """Up to four runs share the cores: BLAS's own spinning threads made four concurrent
    scorings 3.4x slower (docs/benchmarks.md), so the search's products use one thread."""
    seen = []
    search = novelty_module._fill_distances

    def recording(*args):
        seen.extend(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas")
        return search(*args)

    monkeypatch.setattr(novelty_module, "_fill_distances", recording)
    with threadpool_limits(limits=2, user_api="blas"):
        left_neighbour_distance(np.random.default_rng(5).normal(size=200), 8, history=100)
        after = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    assert seen and set(seen) == {1}
    assert set(after) == {2}


def test_left_neighbour_distance_is_causal():
    x = np.random.default_rng(4).normal(size=2 * BLOCK + 100)
    k = BLOCK + 37  # a cut inside a block
    full = left_neighbour_distance(x, 12, history=600)
    altered = x.copy()
    altered[k:] = 100.0
    np.testing.assert_array_equal(full[:k], left_neighbour_distance(x[:k], 12, history=600))
    np.testing.assert_array_equal(full[:k], left_neighbour_distance(altered, 12, history=600)[:k])


def test_a_recurring_spike_is_familiar_and_a_new_shape_is_not():
    """Daily spikes repeat: after the first few days they find their twin. A plateau of
    the same height, never seen before, is new."""
    rng = np.random.default_rng(5)
    day = 96
    x = 1 + 0.05 * rng.normal(size=day * 30)
    x[day // 2 :: day] += 20  # the same spike every day
    x[day * 25 + 10 : day * 25 + 30] += 20  # one wide plateau on day 25
    settings = DetectorSettings(shape_length=12, novelty_record=day * 5)
    score = novelty(x, settings)
    recurring = score[day * 20 + day // 2 : day * 20 + day // 2 + 12].max()
    plateau = score[day * 25 + 10 : day * 25 + 30].max()
    assert recurring < 0.5 < settings.novelty_threshold < plateau


def test_beyond_range_grows_with_the_distance_past_every_earlier_value():
    x = np.array([1.0, 3.0, 2.0, 3.0, 5.0, 2.0, -2.0, 5.1])
    r = beyond_range(x, DetectorSettings(range_tolerance=0.05))
    assert r[0] == 0.0 and r[1] == 1.0  # beyond a single earlier value: no width to scale by
    assert r[2:4].tolist() == [0.0, 0.0]  # within what came before
    assert r[4] == 2.0  # 2 above a range of width 2
    assert r[5] == 0.0
    assert r[6] == 1.0 + 3.0 / 4.0  # 3 below a range of width 4
    assert r[7] == 0.0  # 0.1 above a range of width 7: within the tolerance


def test_an_unsettled_start_sets_no_record_that_hides_a_later_new_shape():
    """A series' first shapes have few earlier ones to resemble, so their distances are
    large whatever they look like; counted in the record, they would hide a new shape for as
    long as the record remembers them (most of a short series)."""
    rng = np.random.default_rng(6)
    t = np.arange(900)
    x = 50 + 10 * np.sin(2 * np.pi * t / 48) + rng.normal(0, 0.3, t.size)
    x[:150] += np.cumsum(rng.normal(0, 3, 150))  # the first 150 rows wander
    x[700:712] += 3  # a step up for 12 rows, never seen before
    settings = DetectorSettings()
    score = novelty(x, settings)
    assert score[700:724].max() > settings.novelty_threshold
    assert score[300:690].max() < settings.novelty_threshold  # the regular rows stay quiet
