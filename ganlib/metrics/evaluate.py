"""`evaluate(generator, n, seed)`: sample with fixed noise, score every metric, return a dict."""

from __future__ import annotations

import time

import numpy as np

from ganlib.errors import check_positive
from ganlib.metrics.cas import classification_accuracy_score
from ganlib.metrics.classes import class_coverage, classifier_score, conditional_accuracy
from ganlib.metrics.features import features_and_probabilities
from ganlib.metrics.fid import fid
from ganlib.metrics.kid import kid
from ganlib.metrics.prdc import prdc
from ganlib.metrics.reference import reference


def is_conditional(generator) -> bool:
    if hasattr(generator, "generate"):
        return bool(getattr(generator, "conditional", False))
    return len(generator.inputs) == 2


def sample(generator, n: int, seed: int, batch_size: int = 500):
    """(images, intended labels or None) from a GAN model or a bare saved generator.

    Both draw the same latents for the same seed (see GAN.latents_for), so a run's model and its
    exported file score the same. Conditional generators get the labels 0..9 in turn.
    """
    labels = np.arange(n, dtype=np.int32) % 10 if is_conditional(generator) else None
    if hasattr(generator, "generate"):
        images = generator.generate(n, seed, labels=labels) if labels is not None else generator.generate(n, seed)
        return np.asarray(images, np.float32), labels
    latent_dim = generator.inputs[0].shape[-1]
    latents = np.random.default_rng(seed).standard_normal((n, latent_dim)).astype(np.float32)
    out = []
    for start in range(0, n, batch_size):
        inputs = latents[start : start + batch_size]
        if labels is not None:
            inputs = [inputs, labels[start : start + batch_size]]
        out.append(np.asarray(generator(inputs, training=False), np.float32))
    return np.concatenate(out), labels


def quick_scores(generator, n: int, seed: int = 0, *, data=None) -> dict:
    """FID and class coverage only: what a sweep needs at every report, in a fraction of evaluate's time."""
    images, labels = sample(generator, n, seed)
    ref = reference(data)
    feats, probs = features_and_probabilities(images)
    result = {"fid": fid(feats, ref.features), **class_coverage(probs)}
    if labels is not None:
        result["conditional_accuracy"] = conditional_accuracy(probs, labels)
    return result


def score_images(images, labels=None, *, data=None, cas: bool = False, cas_epochs: int = 5, seed: int = 0) -> dict:
    """Every metric for a set of images in [-1, 1] (and the labels they were meant to show)."""
    ref = reference(data)
    feats, probs = features_and_probabilities(images)
    kid_mean, kid_std = kid(feats, ref.features, seed=seed)
    result = {
        "fid": fid(feats, ref.features),
        "kid": kid_mean,
        "kid_std": kid_std,
        "classifier_score": classifier_score(probs),
        **prdc(ref.features, feats, ref.radii),
        **class_coverage(probs),
    }
    if labels is not None:
        result["conditional_accuracy"] = conditional_accuracy(probs, labels)
        if cas:
            result["cas"] = classification_accuracy_score(images, labels, ref.images, ref.labels, epochs=cas_epochs, seed=seed)
    return {**result, **ref.floor, "reference": ref.key}


def evaluate(generator, n: int = 10_000, seed: int = 0, *, data=None, cas: bool | None = None, batch_size: int = 500) -> dict:
    """Sample `n` images with noise fixed by `seed` and score them against the real test split.

    The CAS trains a classifier (tens of seconds), so it runs for conditional generators only when
    `cas` is true; None means: yes for conditional generators.
    """
    check_positive("n", n, integer=True)
    start = time.perf_counter()
    images, labels = sample(generator, n, seed, batch_size)
    sampled = time.perf_counter()
    result = score_images(images, labels, data=data, cas=bool(cas if cas is not None else labels is not None), seed=seed)
    result.update({"n": n, "seed": seed, "sample_seconds": sampled - start, "eval_seconds": time.perf_counter() - start})
    return result
