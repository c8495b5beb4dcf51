"""Classification Accuracy Score (Ravuri and Vinyals 2019): train a fresh classifier on generated,
labelled digits only, then score it on the real test split. Real training digits give the ceiling."""

from __future__ import annotations

import numpy as np


def classification_accuracy_score(
    images, labels, test_images, test_labels, *, epochs: int = 5, seed: int = 0
) -> float:
    """Test accuracy of the evaluator's architecture trained from scratch on (images, labels)."""
    from ganlib.metrics.evaluator import accuracy, train_classifier

    classifier = train_classifier(
        (np.asarray(images, np.float32), np.asarray(labels, np.int32)),
        epochs=epochs,
        seed=seed,
        augment=False,
        bn_momentum=0.9,
        verbose=0,
    )
    return accuracy(classifier, test_images, test_labels)
