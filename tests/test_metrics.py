"""Metrics against known answers, on real MNIST and the shipped evaluator."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from ganlib import metrics
from ganlib.data import balanced_subset, to_unit_range
from ganlib.metrics import evaluator
from ganlib.metrics.fid import frechet_distance, frechet_distance_sqrtm, statistics


@pytest.fixture(scope="session")
def real_train_features(train_digits):
    chosen = np.random.default_rng(1).choice(len(train_digits), 5000, replace=False)
    return metrics.features_and_probabilities(to_unit_range(train_digits.images[chosen]))


def test_evaluator_reaches_its_recorded_accuracy(test_digits, test_features):
    _, probs = test_features
    accuracy = float(np.mean(np.argmax(probs, axis=1) == test_digits.labels))
    assert accuracy >= 0.993
    assert accuracy == pytest.approx(evaluator.read_record()["test_accuracy"], abs=2e-4)


@pytest.mark.parametrize("name", list(evaluator.EVALUATORS))
def test_evaluator_refuses_changed_weights(name, tmp_path, monkeypatch):
    weights, record = evaluator.paths(name)
    changed = tmp_path / weights.name
    shutil.copy(weights, changed)
    data = bytearray(changed.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the middle of the weights
    changed.write_bytes(bytes(data))
    original = evaluator.paths
    monkeypatch.setattr(evaluator, "paths", lambda n: (changed, record) if n == name else original(n))
    evaluator._load.cache_clear()
    try:
        with pytest.raises(evaluator.EvaluatorError, match="checksum"):
            evaluator.load_evaluator(name)
    finally:
        monkeypatch.undo()
        evaluator._load.cache_clear()


def test_the_second_evaluator_is_another_network_that_reaches_its_recorded_accuracy(test_digits, monkeypatch):
    from ganlib.data import to_unit_range
    from ganlib.metrics.features import features_and_probabilities

    record = evaluator.read_record("second")
    assert (
        record["architecture"] != evaluator.read_record("main").get("architecture", "conv3_bn")
        and record["seed"] != 0
    )
    monkeypatch.setenv(evaluator.ENV_VAR, "second")
    assert evaluator.current() == "second" and evaluator.checksum() == record["weights_sha256"][:16]
    feats, probs = features_and_probabilities(to_unit_range(test_digits.images))
    accuracy = float(np.mean(np.argmax(probs, axis=1) == test_digits.labels))
    assert accuracy >= 0.99 and accuracy == pytest.approx(record["test_accuracy"], abs=2e-4)
    main_feats, _ = features_and_probabilities(to_unit_range(test_digits.images[:500]), evaluator="main")
    assert feats.shape[1] == main_feats.shape[1] and not np.allclose(
        feats[:500], main_feats
    )  # another feature space


def test_fid_of_a_shifted_set_is_the_squared_shift_and_real_vs_noise_is_large(test_features):
    feats, _ = test_features
    # X and X + c have one covariance, so FID = ||c||^2 exactly (in float64: float32's rounding of
    # X + c would move the covariance). FID(X, X) = 0 could not fail: fid clips negatives to 0.
    shift = np.random.default_rng(0).standard_normal(feats.shape[1])
    shifted = np.asarray(feats, np.float64) + shift
    assert metrics.fid(np.asarray(feats, np.float64), shifted) == pytest.approx(shift @ shift, abs=1e-3)
    noise = np.random.default_rng(0).uniform(-1, 1, (2000, 28, 28, 1)).astype("float32")
    noise_fid = metrics.fid(metrics.features(noise), feats)
    real_fid = metrics.fid(feats[:5000], feats[5000:])
    assert noise_fid > 100 * real_fid and noise_fid > 100


def test_fid_grows_with_noise_strength(test_digits, test_features):
    images = to_unit_range(test_digits.images[:3000])
    rng = np.random.default_rng(0)
    values = []
    for sigma in (0.0, 0.1, 0.25, 0.5, 1.0):
        noisy = np.clip(images + sigma * rng.standard_normal(images.shape).astype("float32"), -1, 1)
        values.append(metrics.fid(metrics.features(noisy), test_features[0]))
    assert all(a < b for a, b in zip(values, values[1:])), values


def test_fid_matches_the_standard_formula_and_stays_real_when_singular(real_train_features, test_features):
    a, b = real_train_features[0], test_features[0]
    stats_a, stats_b = statistics(a), statistics(b)
    assert frechet_distance(*stats_a, *stats_b) == pytest.approx(
        frechet_distance_sqrtm(*stats_a, *stats_b), rel=1e-4
    )
    few = statistics(a[:40])  # 40 samples in 128 dimensions: a singular covariance
    value = frechet_distance(*few, *stats_b)
    assert np.isfinite(value) and value >= 0.0 and isinstance(value, float)


def test_kid_of_two_halves_of_the_test_split_is_zero_within_its_std(test_features):
    # random halves: the split's first 5,000 digits come from other writers than its last 5,000
    feats = np.random.default_rng(0).permutation(test_features[0])
    mean, std = metrics.kid(feats[:5000], feats[5000:])
    assert abs(mean) <= std
    noise_mean, _ = metrics.kid(
        metrics.features(np.random.default_rng(0).uniform(-1, 1, (1000, 28, 28, 1))), feats
    )
    assert noise_mean > 100 * std


def test_a_single_digit_covers_one_class_and_scores_far_worse(
    train_digits, test_features, real_train_features
):
    ones = to_unit_range(train_digits.images[train_digits.labels == 1][:2000])
    feats, probs = metrics.features_and_probabilities(ones)
    coverage = metrics.class_coverage(probs)
    assert coverage["classes_covered"] == 1 and coverage["class_kl_uniform"] > 2.0
    assert metrics.classifier_score(probs) < 1.5
    real_feats, real_probs = real_train_features
    assert metrics.class_coverage(real_probs)["classes_covered"] == 10
    assert metrics.class_coverage(real_probs)["class_kl_uniform"] < 0.01
    assert metrics.classifier_score(real_probs) > 9.0
    assert metrics.fid(feats, test_features[0]) > 20 * metrics.fid(real_feats, test_features[0])


def test_precision_recall_density_coverage(real_train_features, test_features, train_digits):
    real = test_features[0][:5000]
    good = metrics.prdc(real, real_train_features[0])
    assert good["precision"] > 0.6 and good["recall"] > 0.6 and good["coverage"] > 0.8
    assert 0.7 < good["density"] < 1.3
    ones = metrics.features(to_unit_range(train_digits.images[train_digits.labels == 1][:2000]))
    collapsed = metrics.prdc(real, ones)
    assert collapsed["recall"] < 0.2 and collapsed["coverage"] < 0.2 and collapsed["precision"] > 0.5


def test_cas_of_shuffled_labels_is_chance(train_digits, test_digits):
    # 300 digits a class for 3 epochs: measured 0.92-0.95 with their true labels and 0.10 with them
    # shuffled (seeds 0-2, whole test split); a CAS that learnt from anything but the labels it is
    # given would score the same both ways. The true labels' side is the final stage's real-data
    # baseline test (test_final_stage.py). Scored on 2,000 test digits to keep the test quick.
    test_images, test_labels = to_unit_range(test_digits.images[:2000]), test_digits.labels[:2000]
    subset = balanced_subset(train_digits, 300, seed=0)
    images, labels = to_unit_range(subset.images), subset.labels.astype(np.int32)
    shuffled = metrics.classification_accuracy_score(
        images, np.random.default_rng(0).permutation(labels), test_images, test_labels, epochs=3
    )
    assert 0.03 < shuffled < 0.2


def test_conditional_accuracy_counts_intended_labels():
    probs = np.eye(10)[[0, 1, 2, 3]]
    assert metrics.conditional_accuracy(probs, [0, 1, 2, 9]) == 0.75


def test_an_unconditional_generators_cas_trains_on_the_evaluators_labels(train_digits, mnist_path):
    """Real digits stand in for an unconditional generator's samples: the evaluator labels them
    right, so a classifier trained on its labels scores like one trained on the true ones; only
    when asked (the classifier costs tens of seconds)."""
    from ganlib.metrics.scoring import score_images

    data = str(mnist_path)
    subset = balanced_subset(train_digits, 200, seed=1)
    images = to_unit_range(subset.images)
    asked = score_images(images, None, data=data, cas=True, cas_epochs=3)
    from ganlib.metrics.reference import reference

    test = reference(data)
    true = metrics.classification_accuracy_score(
        images, subset.labels.astype(np.int32), test.images, test.labels, epochs=3, seed=0
    )
    assert true > 0.8 and abs(asked["cas_evaluator"] - true) < 0.03
    assert "cas_evaluator" not in score_images(images[:200], None, data=data) and "cas" not in asked
