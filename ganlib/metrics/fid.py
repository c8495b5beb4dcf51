"""Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017)."""

from __future__ import annotations

import numpy as np
from scipy import linalg


def statistics(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    feats = np.asarray(feats, dtype=np.float64)
    return feats.mean(axis=0), np.cov(feats, rowvar=False)


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)).

    Tr((S1 S2)^(1/2)) equals the sum of square roots of the eigenvalues of the symmetric PSD matrix
    S1^(1/2) S2 S1^(1/2), so it is computed with symmetric eigensolvers: the result is real and
    finite even for singular covariances, where the usual sqrtm of S1 S2 goes complex or NaN and
    needs an eps fallback (see `frechet_distance_sqrtm`).
    """
    root1 = _sqrt_psd(np.asarray(sigma1, np.float64))
    middle = root1 @ np.asarray(sigma2, np.float64) @ root1
    trace_covmean = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0.0, None)).sum()
    diff = np.asarray(mu1, np.float64) - np.asarray(mu2, np.float64)
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_covmean
    return float(max(value, 0.0))


def frechet_distance_sqrtm(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """The standard FID code's formula (scipy sqrtm, eps on the diagonal when it fails), kept to
    check `frechet_distance` against."""
    covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = np.eye(len(sigma1)) * eps
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    covmean = np.real(covmean)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def fid(feats_a: np.ndarray, feats_b: np.ndarray) -> float:
    """FID between two sets of evaluator features."""
    return frechet_distance(*statistics(feats_a), *statistics(feats_b))
