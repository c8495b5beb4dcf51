"""Kernel Inception Distance (Binkowski et al. 2018): unbiased MMD^2 with the cubic polynomial
kernel k(x, y) = (x.y / d + 1)^3, averaged over random subsets; the std over subsets says how
far apart two equal distributions may still score."""

from __future__ import annotations

import numpy as np


def polynomial_mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]
    k_xx = (x @ x.T / d + 1.0) ** 3
    k_yy = (y @ y.T / d + 1.0) ** 3
    k_xy = (x @ y.T / d + 1.0) ** 3
    m, n = len(x), len(y)
    return float(
        (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
        + (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
        - 2.0 * k_xy.mean()
    )


def kid(feats_a: np.ndarray, feats_b: np.ndarray, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """(mean, std) of the unbiased MMD^2 over `subsets` random subsets of both sets."""
    feats_a = np.asarray(feats_a, np.float64)
    feats_b = np.asarray(feats_b, np.float64)
    size = min(subset_size, len(feats_a), len(feats_b))
    rng = np.random.default_rng(seed)
    values = [
        polynomial_mmd2_unbiased(
            feats_a[rng.choice(len(feats_a), size, replace=False)],
            feats_b[rng.choice(len(feats_b), size, replace=False)],
        )
        for _ in range(subsets)
    ]
    return float(np.mean(values)), float(np.std(values))
