"""Metrics on the evaluator's class probabilities: the classifier score, class coverage (where
mode collapse shows) and, for conditional generators, accuracy on the intended labels."""

from __future__ import annotations

import numpy as np

from ganlib.data import NUM_CLASSES

# A class counts as present when it holds at least 1% of the samples (a tenth of its fair share),
# so the evaluator's rare mistakes on a one-digit generator do not count as coverage.
PRESENT_SHARE = 0.01


def classifier_score(probs: np.ndarray, eps: float = 1e-12) -> float:
    """exp(E_x KL(p(y|x) || p(y))): the Inception score with the MNIST evaluator; 1 to 10."""
    probs = np.asarray(probs, np.float64)
    marginal = probs.mean(axis=0, keepdims=True)
    kl = (probs * (np.log(probs + eps) - np.log(marginal + eps))).sum(axis=1)
    return float(np.exp(kl.mean()))


def class_coverage(probs: np.ndarray) -> dict:
    """Histogram of predicted digits, how many of the 10 are present, and KL(histogram || uniform)."""
    predicted = np.argmax(probs, axis=1)
    shares = np.bincount(predicted, minlength=NUM_CLASSES) / len(predicted)
    nonzero = shares > 0
    return {
        "class_histogram": shares.round(5).tolist(),
        "classes_covered": int((shares >= PRESENT_SHARE).sum()),
        "class_kl_uniform": float((shares[nonzero] * np.log(shares[nonzero] * NUM_CLASSES)).sum()),
    }


def conditional_accuracy(probs: np.ndarray, intended_labels: np.ndarray) -> float:
    """Share of samples the evaluator classifies as the label they were generated for."""
    return float(np.mean(np.argmax(probs, axis=1) == np.asarray(intended_labels)))
