"""The evaluator: a small MNIST classifier whose penultimate layer is the feature space of FID,
KID and precision/recall, and whose softmax scores class coverage and conditional accuracy.

Inception does not fit 28x28 digits and its weights cannot be fetched here, so, as TF-GAN's MNIST
examples do, we score with an MNIST classifier of our own. Its weights ship in the package
(`evaluator.weights.h5`) with a record (`evaluator.json`) of how they were made, their test
accuracy and their checksum; loading refuses weights whose checksum differs, so every number
ganlib prints was scored by the same network.

A second evaluator, another architecture trained from another seed (`evaluator_second.*`),
scores the same images in a feature space of its own, so that a ranking of variants can be checked
not to be an artefact of one classifier: `GANLIB_EVALUATOR=second` (or `python -m ganlib.evaluate
--evaluator second`) selects it for a process; every cache key and record names the evaluator by
its checksum.

Retrain reproducibly with `python -m ganlib.metrics.evaluator --data mnist.npz [--evaluator second]`.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import sys
import time
from pathlib import Path

from ganlib.errors import ConfigError, GanlibError

HERE = Path(__file__).resolve().parent
WEIGHTS_PATH = HERE / "evaluator.weights.h5"
RECORD_PATH = HERE / "evaluator.json"
FEATURE_LAYER = "features"
FEATURE_DIM = 128
ENV_VAR = "GANLIB_EVALUATOR"
# name -> (architecture, file stem): "main" scores everything by default
EVALUATORS = {"main": ("conv3_bn", "evaluator"), "second": ("conv_gap", "evaluator_second")}


def current() -> str:
    """The evaluator this process scores with: $GANLIB_EVALUATOR, else main."""
    name = os.environ.get(ENV_VAR) or "main"
    if name not in EVALUATORS:
        raise ConfigError(f"{ENV_VAR}={name!r} is not allowed: choose one of {', '.join(EVALUATORS)}")
    return name


def paths(name: str) -> tuple[Path, Path]:
    """(weights, record) of a named evaluator, in the package."""
    stem = EVALUATORS[name][1]
    return HERE / f"{stem}.weights.h5", HERE / f"{stem}.json"


class EvaluatorError(GanlibError):
    """The shipped evaluator is missing or is not the network its record describes."""


def file_sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def build_classifier(bn_momentum: float = 0.99, architecture: str = "conv3_bn"):
    """An evaluator network, always in float32 whatever precision the GAN trains in."""
    import keras

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        return _classifier(bn_momentum) if architecture == "conv3_bn" else _second_classifier()
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _second_classifier():
    """The second evaluator: other kernels and widths, strided convolutions instead of pooling,
    global average pooling before its 128 features; trained from another seed."""
    import keras
    from keras import layers

    inputs = keras.Input((28, 28, 1), name="image")
    x = inputs
    for filters, kernel, strides in ((48, 5, 1), (96, 5, 2), (192, 3, 2)):
        x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    return _with_head(inputs, layers.GlobalAveragePooling2D()(x), dropout=0.3, name="mnist_evaluator_second")


def _with_head(inputs, x, dropout: float, name: str):
    """Both evaluators' head: the 128 features FID is computed on, then the class logits."""
    import keras
    from keras import layers

    from ganlib.data import NUM_CLASSES

    features = layers.Dense(FEATURE_DIM, activation="relu", name=FEATURE_LAYER)(x)
    logits = layers.Dense(NUM_CLASSES, name="logits")(layers.Dropout(dropout)(features))
    return keras.Model(inputs, logits, name=name)


def _classifier(bn_momentum: float):
    """Three conv blocks and a 128-unit feature layer: about 0.25 M weights, 99.4-99.6% on MNIST.

    Short trainings (the CAS's few hundred steps) need a lower BatchNorm momentum, or the moving
    statistics used at test time lag far behind the weights.
    """
    import keras
    from keras import layers

    inputs = keras.Input((28, 28, 1), name="image")
    x = inputs
    for filters in (32, 64, 128):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=bn_momentum)(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
    return _with_head(inputs, layers.Flatten()(x), dropout=0.4, name="mnist_evaluator")


def read_record(name: str | None = None) -> dict:
    record_path = paths(name or current())[1]
    if not record_path.exists():
        raise EvaluatorError(
            f"evaluator record {record_path} is missing: retrain with python -m ganlib.metrics.evaluator"
        )
    return json.loads(record_path.read_text())


def load_evaluator(name: str | None = None):
    """(classifier, feature_and_probability_model) of the named (default: current) evaluator,
    with checked weights; built once per process."""
    return _load(name or current())


@functools.lru_cache(maxsize=2)
def _load(name: str):
    import keras

    record = read_record(name)
    weights_path = paths(name)[0]
    previous = keras.mixed_precision.global_policy()
    if not weights_path.exists():
        raise EvaluatorError(
            f"evaluator weights {weights_path} are missing: retrain with python -m ganlib.metrics.evaluator"
        )
    found = file_sha256(weights_path)
    if found != record["weights_sha256"]:
        raise EvaluatorError(
            f"evaluator weights checksum {found[:12]}... differs from the recorded "
            f"{record['weights_sha256'][:12]}...: "
            f"the file was changed; restore it or retrain with python -m ganlib.metrics.evaluator"
        )
    classifier = build_classifier(architecture=EVALUATORS[name][0])
    classifier.load_weights(weights_path)
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


def checksum(name: str | None = None) -> str:
    """Identifies the (current) evaluator in cache keys and result records."""
    return read_record(name)["weights_sha256"][:16]


def train_classifier(
    digits,
    *,
    epochs: int,
    seed: int,
    batch_size: int = 128,
    augment: bool = True,
    bn_momentum: float = 0.99,
    verbose=2,
    architecture: str = "conv3_bn",
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
    model = build_classifier(bn_momentum, architecture)
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
    parser = argparse.ArgumentParser(
        prog="python -m ganlib.metrics.evaluator", description="Retrain the shipped evaluator."
    )
    parser.add_argument("--data", default=None)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--evaluator",
        default="main",
        choices=list(EVALUATORS),
        help="which evaluator to train (its architecture and files)",
    )
    parser.add_argument(
        "--out", default=str(HERE), help="folder for the weights and record (default: the package's own)"
    )
    args = parser.parse_args(argv)
    weights_path, record_path = (Path(args.out) / path.name for path in paths(args.evaluator))
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
    classifier = train_classifier(
        train, epochs=args.epochs, seed=args.seed, architecture=EVALUATORS[args.evaluator][0]
    )
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
        "architecture": EVALUATORS[args.evaluator][0],
        "command": (
            f"python -m ganlib.metrics.evaluator --evaluator {args.evaluator} "
            f"--epochs {args.epochs:d} --seed {args.seed:d}"
        ),
    }
    record_path.write_text(json.dumps(record, indent=2) + "\n")
    print(
        f"evaluator test accuracy {test_accuracy:.4%}; weights sha256 {record['weights_sha256']}; "
        f"wrote {weights_path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
