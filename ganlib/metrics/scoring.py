"""Scoring generators: `evaluate(generator, n, seed)` samples with fixed noise and scores every metric;
`quick_scores` only FID and class coverage, for every report of a sweep."""

from __future__ import annotations

import time

import numpy as np

from ganlib.data import NUM_CLASSES
from ganlib.errors import check_positive
from ganlib.metrics.cas import classification_accuracy_score
from ganlib.metrics.classes import class_coverage, classifier_score, conditional_accuracy
from ganlib.metrics.features import features_and_probabilities
from ganlib.metrics.fid import fid
from ganlib.metrics.kid import kid
from ganlib.metrics.prdc import prdc
from ganlib.metrics.reference import reference
from ganlib.sampling import generator_inputs, is_conditional, run_generator


def sample(generator, n: int, seed: int, batch_size: int = 500):
    """(images, intended labels or None) from a GAN model or a bare saved generator.

    Both feed the same inputs for the same seed (ganlib.sampling.generator_inputs), so a run's model
    and its exported file score the same. Conditional generators get the labels 0..9 in turn.
    """
    network = getattr(generator, "generator", generator)
    labels = np.arange(n, dtype=np.int32) % NUM_CLASSES if is_conditional(network) else None
    images = run_generator(network, generator_inputs(network, n, seed, labels=labels), batch_size)
    return images, labels


def quick_scores(generator, n: int, seed: int = 0, *, data=None, split: str = "test") -> dict:
    """FID and class coverage only: what a sweep needs at every report, in a fraction of evaluate's
    time; against the test split, or the validation slice a sweep ranks its trials by."""
    images, labels = sample(generator, n, seed)
    ref = reference(data, split)
    feats, probs = features_and_probabilities(images)
    result = {"fid": fid(feats, ref.features), **class_coverage(probs)}
    if labels is not None:
        result["conditional_accuracy"] = conditional_accuracy(probs, labels)
    return result


def score_images(
    images, labels=None, *, data=None, cas: bool = False, cas_epochs: int = 5, seed: int = 0
) -> dict:
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
            result["cas"] = classification_accuracy_score(
                images, labels, ref.images, ref.labels, epochs=cas_epochs, seed=seed
            )
    elif cas:
        result["cas_evaluator"] = classification_accuracy_score(
            images, np.argmax(probs, axis=1), ref.images, ref.labels, epochs=cas_epochs, seed=seed
        )
    return {**result, **ref.floor, "reference": ref.key}


def evaluate(
    generator, n: int = 10_000, seed: int = 0, *, data=None, cas: bool | None = None, batch_size: int = 500
) -> dict:
    """Sample `n` images with noise fixed by `seed` and score them against the real test split.

    The CAS trains a classifier (tens of seconds), so it runs only when `cas` is true; None means:
    yes for conditional generators. A conditional generator's CAS trains on the labels it was asked
    for (`cas`); an unconditional one's, with `cas` true, on the labels the evaluator gives its
    samples (`cas_evaluator`): whether its digits carry enough of their class to teach a classifier.
    """
    check_positive("n", n, integer=True)
    start = time.perf_counter()
    images, labels = sample(generator, n, seed, batch_size)
    sampled = time.perf_counter()
    result = score_images(
        images, labels, data=data, cas=bool(cas if cas is not None else labels is not None), seed=seed
    )
    result.update(
        {"n": n, "seed": seed, "sample_seconds": sampled - start, "eval_seconds": time.perf_counter() - start}
    )
    return result
