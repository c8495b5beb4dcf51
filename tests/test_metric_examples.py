"""KID and precision / recall / density / coverage on examples small enough to work out by hand."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from ganlib import metrics
from ganlib.metrics.kid import polynomial_mmd2_unbiased
from ganlib.metrics.prdc import knn_radii

prdc_module = importlib.import_module("ganlib.metrics.prdc")  # ganlib.metrics.prdc is also the function

# k(a, b) = (a.b / d + 1)^3 with d = 2
X = np.array([[1.0, 1.0], [2.0, 0.0], [0.0, 0.0]])
Y = np.array([[0.0, 2.0], [-2.0, 0.0]])


def test_unbiased_polynomial_mmd_of_a_hand_example():
    # X pairs: x1.x2 = 2 -> 2^3 = 8, x1.x3 = x2.x3 = 0 -> 1; the diagonal left out:
    #   2 (8 + 1 + 1) / (3 * 2) = 10/3
    # Y pair: y1.y2 = 0 -> 1: 2 * 1 / (2 * 1) = 1
    # X-Y: x1.y1 = 2 -> 8, x1.y2 = -2 -> 0, x2.y1 = 0 -> 1, x2.y2 = -4 -> (-1)^3 = -1, x3.y = 0 -> 1, 1:
    #   2 (8 + 0 + 1 - 1 + 1 + 1) / (3 * 2) = 10/3
    # MMD^2 = 10/3 + 1 - 10/3 = 1
    assert polynomial_mmd2_unbiased(X, Y) == pytest.approx(1.0, abs=1e-12)


def test_kid_averages_the_mmd_over_random_subsets():
    # pairs of X against all of Y, as above: {x1, x2}: 8 + 1 - 2 (8 + 0 + 1 - 1) / 4 = 5;
    # {x1, x3}: 1 + 1 - 2 (8 + 0 + 1 + 1) / 4 = -3; {x2, x3}: 1 + 1 - 2 (1 - 1 + 1 + 1) / 4 = 1
    assert polynomial_mmd2_unbiased(X[[0, 1]], Y) == pytest.approx(5.0)
    assert polynomial_mmd2_unbiased(X[[0, 2]], Y) == pytest.approx(-3.0)
    assert polynomial_mmd2_unbiased(X[[1, 2]], Y) == pytest.approx(1.0)
    # subsets as large as both sets are the whole sets, reordered: one value, no spread
    assert metrics.kid(X[[0, 1]], Y, subsets=5, subset_size=10) == pytest.approx((5.0, 0.0), abs=1e-12)
    # subsets of the smaller set's size, 2: X's pairs against all of Y
    # uniform over the three pairs: mean (5 - 3 + 1) / 3 = 1, std sqrt((16 + 16 + 0) / 3) = 3.27
    mean, std = metrics.kid(X, Y, subsets=1000, subset_size=2, seed=0)
    assert mean == pytest.approx(1.0, abs=0.35) and std == pytest.approx(np.sqrt(32 / 3), abs=0.2)


# Six real points at x = 0..5 and four fakes at 5.5, 7.5, 8.5, 9.5, on the line y = 1 of the plane.
REAL = np.stack([np.arange(6.0), np.ones(6)], axis=1)
FAKE = np.stack([np.array([5.5, 7.5, 8.5, 9.5]), np.ones(4)], axis=1)


def test_knn_radii_reach_the_kth_nearest_other_point():
    # 3rd nearest of 0: 1, 2, [3]; of 1: 1, 1, [2]; of 2: 1, 1, [2] (and 3, 4 by symmetry)
    np.testing.assert_allclose(knn_radii(REAL, 3), [3, 2, 2, 2, 2, 3], rtol=1e-6)
    # 5th nearest: the farthest of the five others
    np.testing.assert_allclose(knn_radii(REAL, 5), [5, 4, 3, 3, 4, 5], rtol=1e-6)
    # fakes, 3rd nearest = farthest of the three others:
    # 5.5: 2, 3, [4]; 7.5: 1, 2, [2]; 8.5: 1, 1, [3]; 9.5: 1, 2, [4]
    np.testing.assert_allclose(knn_radii(FAKE, 3), [4, 2, 3, 4], rtol=1e-6)


@pytest.mark.parametrize("chunk", [2000, 4])  # one block, and blocks that split the real set
def test_prdc_of_a_hand_example(chunk, monkeypatch):
    monkeypatch.setattr(prdc_module, "CHUNK", chunk)
    result = metrics.prdc(REAL, FAKE)
    # precision: real k=3 balls cover [0-3, 5+3] = [-3, 8]: 5.5 and 7.5 in, 8.5 and 9.5 out -> 2/4
    assert result["precision"] == pytest.approx(0.5)
    # recall: fake k=3 balls [1.5, 9.5], [5.5, 9.5], [5.5, 11.5], [5.5, 13.5]: reals 2..5 in -> 4/6
    assert result["recall"] == pytest.approx(4 / 6)
    # density: real k=5 balls [-5, 5], [-3, 5], [-1, 5], [0, 6], [0, 8], [0, 10] hold 5.5 three
    # times (reals 3, 4, 5), 7.5 twice (4, 5), 8.5 and 9.5 once (5): 7 / (5 * 4)
    assert result["density"] == pytest.approx(7 / 20)
    # coverage: reals 3, 4, 5 have a fake in their k=5 ball, 0, 1, 2 none -> 3/6
    assert result["coverage"] == pytest.approx(0.5)
