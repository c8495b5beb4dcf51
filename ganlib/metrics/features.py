"""Images -> evaluator features and class probabilities, batched, in one forward pass."""

from __future__ import annotations

import numpy as np

from ganlib.errors import GanlibError


def _check_images(images) -> np.ndarray:
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[1:] != (28, 28, 1):
        raise GanlibError(
            f"images of shape {images.shape} cannot be scored: expected (N, 28, 28, 1) in [-1, 1]"
        )
    return images


def features_and_probabilities(
    images, batch_size: int = 1000, evaluator: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(N, 128) penultimate features and (N, 10) softmax of a shipped evaluator (default: this
    process's, ganlib.metrics.evaluator.current())."""
    from ganlib.metrics.evaluator import load_evaluator

    images = _check_images(images)
    _, model = load_evaluator(evaluator)
    feats, probs = [], []
    for start in range(0, len(images), batch_size):
        f, p = model(images[start : start + batch_size], training=False)
        feats.append(np.asarray(f, dtype=np.float64))
        probs.append(np.asarray(p, dtype=np.float64))
    return np.concatenate(feats), np.concatenate(probs)


def features(images, batch_size: int = 1000) -> np.ndarray:
    """Evaluator features for float32 images in [-1, 1] of shape (N, 28, 28, 1)."""
    return features_and_probabilities(images, batch_size)[0]
