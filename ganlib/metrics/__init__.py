"""Evaluation of generators on MNIST with a shipped MNIST classifier as the feature extractor.

Public names: features(images), fid(a, b), kid(a, b), prdc(real, fake), classifier_score(probs),
class_coverage(probs), conditional_accuracy(probs, labels), classification_accuracy_score(...),
evaluate(generator, n, seed), score_images(images, labels).
"""

from ganlib.metrics.cas import classification_accuracy_score
from ganlib.metrics.classes import class_coverage, classifier_score, conditional_accuracy
from ganlib.metrics.features import features, features_and_probabilities
from ganlib.metrics.fid import fid, frechet_distance, statistics
from ganlib.metrics.kid import kid
from ganlib.metrics.prdc import prdc
from ganlib.metrics.scoring import evaluate, quick_scores, sample, score_images

__all__ = [
    "class_coverage",
    "classification_accuracy_score",
    "classifier_score",
    "conditional_accuracy",
    "evaluate",
    "features",
    "features_and_probabilities",
    "fid",
    "frechet_distance",
    "kid",
    "prdc",
    "quick_scores",
    "sample",
    "score_images",
    "statistics",
]
