"""The evaluator: a small MNIST classifier whose penultimate layer is the feature space of FID,
KID and precision/recall, and whose softmax scores class coverage and conditional accuracy.

Inception does not fit 28x28 digits and its weights cannot be fetched here, so, as TF-GAN's MNIST
examples do, we score with an MNIST classifier of our own. Its weights ship in the package
(`evaluator.weights.h5`) with a record (`evaluator.json`) of how they were made, their test
accuracy and their checksum; loading refuses weights whose checksum differs, so every number
ganlib prints was scored by the same network.

Retrain reproducibly with `python -m ganlib.metrics.evaluator --data mnist.npz`.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import sys
import time
from pathlib import Path

from ganlib.errors import GanlibError

HERE = Path(__file__).resolve().parent
WEIGHTS_PATH = HERE / "evaluator.weights.h5"
RECORD_PATH = HERE / "evaluator.json"
FEATURE_LAYER = "features"
FEATURE_DIM = 128


class EvaluatorError(GanlibError):
    """The shipped evaluator is missing or is not the network its record describes."""


def file_sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def build_classifier(bn_momentum: float = 0.99):
    """The evaluator network, always in float32 whatever precision the GAN trains in."""
    import keras

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        return _classifier(bn_momentum)
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _classifier(bn_momentum: float):
    """Three conv blocks and a 128-unit feature layer: about 0.25 M weights, 99.4-99.6% on MNIST.

    Short trainings (the CAS's few hundred steps) need a lower BatchNorm momentum, or the moving
    statistics used at test time lag far behind the weights.
    """
    import keras
    from keras import layers

    from ganlib.data import NUM_CLASSES

    inputs = keras.Input((28, 28, 1), name="image")
    x = inputs
    for filters in (32, 64, 128):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=bn_momentum)(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    features = layers.Dense(FEATURE_DIM, activation="relu", name=FEATURE_LAYER)(x)
    x = layers.Dropout(0.4)(features)
    logits = layers.Dense(NUM_CLASSES, name="logits")(x)
    return keras.Model(inputs, logits, name="mnist_evaluator")


def read_record() -> dict:
    if not RECORD_PATH.exists():
        raise EvaluatorError(f"evaluator record {RECORD_PATH} is missing: retrain with python -m ganlib.metrics.evaluator")
    return json.loads(RECORD_PATH.read_text())


@functools.lru_cache(maxsize=1)
def load_evaluator():
    """(classifier, feature_and_probability_model) with checked weights; built once per process."""
    import keras

    record = read_record()
    previous = keras.mixed_precision.global_policy()
    if not WEIGHTS_PATH.exists():
        raise EvaluatorError(f"evaluator weights {WEIGHTS_PATH} are missing: retrain with python -m ganlib.metrics.evaluator")
    found = file_sha256(WEIGHTS_PATH)
    if found != record["weights_sha256"]:
        raise EvaluatorError(
            f"evaluator weights checksum {found[:12]}... differs from the recorded {record['weights_sha256'][:12]}...: "
            f"the file was changed; restore it or retrain with python -m ganlib.metrics.evaluator"
        )
    classifier = build_classifier()
    classifier.load_weights(WEIGHTS_PATH)
    keras.mixed_precision.set_global_policy("float32")
    try:
        both = keras.Model(
            classifier.input,
            [classifier.get_layer(FEATURE_LAYER).output, keras.ops.softmax(classifier.output)],
            name="evaluator_features_and_probabilities",
        )
    finally:
        keras.mixed_precision.set_global_policy(previous)
    return classifier, both


def checksum() -> str:
    """Identifies the evaluator in cache keys and result records."""
    return read_record()["weights_sha256"][:16]


def train_classifier(
    digits, *, epochs: int, seed: int, batch_size: int = 128, augment: bool = True, bn_momentum: float = 0.99, verbose=2
):
    """A fresh classifier trained on `digits` (a ganlib.data.Digits or (images in [-1,1], labels))."""
    import keras
    import numpy as np
    import tensorflow as tf

    from ganlib.data import to_unit_range

    if hasattr(digits, "images"):
        images, labels = to_unit_range(digits.images), digits.labels.astype(np.int32)
    else:
        images, labels = digits
    keras.utils.set_random_seed(seed)
    model = build_classifier(bn_momentum)
    if augment:
        augmenter = keras.Sequential([keras.layers.RandomTranslation(0.08, 0.08, fill_value=-1.0, seed=seed)])
        inputs = keras.Input((28, 28, 1))
        model = keras.Model(inputs, model(augmenter(inputs)), name="augmented")
    steps = epochs * (len(labels) // batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(2e-3, decay_steps=max(1, steps))
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    dataset = (
        tf.data.Dataset.from_tensor_slices((images, labels))
        .shuffle(len(labels), seed=seed)
        .batch(batch_size, drop_remainder=True)
        .prefetch(tf.data.AUTOTUNE)
    )
    model.fit(dataset, epochs=epochs, verbose=verbose, shuffle=False)  # the dataset shuffles itself
    return model.layers[-1] if augment else model


def accuracy(classifier, images, labels, batch_size: int = 1000) -> float:
    import numpy as np

    logits = classifier.predict(images, batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(logits, axis=1) == labels))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ganlib.metrics.evaluator", description="Retrain the shipped evaluator.")
    parser.add_argument("--data", default=None)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(HERE), help="folder for the weights and record (default: the package's own)")
    args = parser.parse_args(argv)
    weights_path, record_path = Path(args.out) / WEIGHTS_PATH.name, Path(args.out) / RECORD_PATH.name
    try:
        import tensorflow as tf

        from ganlib.data import load_digits, to_unit_range

        train, test = load_digits(args.data, "train"), load_digits(args.data, "test")
    except GanlibError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    # Same seed, same machine type -> same weights: op determinism removes TF's racy reductions.
    tf.config.experimental.enable_op_determinism()
    start = time.perf_counter()
    classifier = train_classifier(train, epochs=args.epochs, seed=args.seed)
    seconds = time.perf_counter() - start
    test_accuracy = accuracy(classifier, to_unit_range(test.images), test.labels)
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    classifier.save_weights(weights_path)
    import keras

    record = {
        "weights_sha256": file_sha256(weights_path),
        "test_accuracy": round(test_accuracy, 5),
        "epochs": args.epochs,
        "seed": args.seed,
        "train_data_checksum": train.checksum(),
        "test_data_checksum": test.checksum(),
        "train_seconds": round(seconds, 1),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "command": "python -m ganlib.metrics.evaluator --epochs %d --seed %d" % (args.epochs, args.seed),
    }
    record_path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"evaluator test accuracy {test_accuracy:.4%}; weights sha256 {record['weights_sha256']}; wrote {weights_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
