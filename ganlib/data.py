"""MNIST in, `tf.data` out.

Where the digits come from, in order: a path given by the caller, the path in $GANLIB_MNIST, or
Keras's own download (`keras.datasets.mnist`), which needs the internet once. A path is either a
Keras-layout `mnist.npz` or a folder holding LeCun's four IDX files, gzipped or not.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganlib.errors import DataError, check_positive

ENV_VAR = "GANLIB_MNIST"
IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
SPLITS = ("train", "test")
# Sweeps rank trials against the last VALIDATION_SIZE training digits and train on the rest, so the
# test split scores only what was chosen without it (Keras's validation_split holds out the tail too).
VALIDATION_SIZE = 10_000
NPZ_KEYS = {"train": ("x_train", "y_train"), "test": ("x_test", "y_test")}
IDX_STEMS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
IDX_MAGIC_IMAGES, IDX_MAGIC_LABELS = 2051, 2049


@dataclass(frozen=True)
class Digits:
    """One split of MNIST as stored: uint8 images (N, 28, 28) and uint8 labels (N,)."""

    images: np.ndarray
    labels: np.ndarray
    source: str

    def __len__(self) -> int:
        return len(self.labels)

    def checksum(self) -> str:
        """Content hash (not file hash), so the same digits from .npz or IDX key the same cache."""
        digest = hashlib.sha256()
        digest.update(np.ascontiguousarray(self.images).tobytes())
        digest.update(np.ascontiguousarray(self.labels).tobytes())
        return digest.hexdigest()[:16]


def resolve_path(path: str | os.PathLike | None) -> Path | None:
    """The explicit path, else $GANLIB_MNIST, else None (meaning: Keras's download)."""
    if path is None or str(path) == "":
        path = os.environ.get(ENV_VAR) or None
    return None if path is None else Path(path).expanduser()


def load_digits(path: str | os.PathLike | None = None, split: str = "train") -> Digits:
    """Load one split of MNIST, checked against MNIST's layout; raises DataError with one line."""
    if split not in SPLITS:
        raise DataError(f"split={split!r} is not allowed: split must be one of {', '.join(SPLITS)}")
    resolved = resolve_path(path)
    if resolved is None:
        images, labels, source = _load_keras_download(split)
    elif resolved.is_dir():
        images, labels = _load_idx_folder(resolved, split)
        source = str(resolved)
    elif resolved.is_file():
        images, labels = _load_npz(resolved, split)
        source = str(resolved)
    else:
        raise DataError(
            f"MNIST data not found at {str(resolved)!r}: give a Keras-layout mnist.npz or a folder "
            f"with the four IDX files (via --data or ${ENV_VAR})"
        )
    _check_digits(images, labels, source)
    return Digits(images.astype(np.uint8, copy=False), labels.astype(np.uint8, copy=False), source)


def _load_keras_download(split: str):
    import keras

    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as exc:  # no internet, proxy, corrupt cache: all end the same way for the user
        raise DataError(
            f"could not download MNIST through keras.datasets.mnist ({type(exc).__name__}); "
            f"without internet give a local mnist.npz via --data or ${ENV_VAR}"
        ) from None
    if split == "train":
        return x_train, y_train, "keras.datasets.mnist"
    return x_test, y_test, "keras.datasets.mnist"


def _load_npz(path: Path, split: str):
    image_key, label_key = NPZ_KEYS[split]
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [k for k in (image_key, label_key) if k not in archive.files]
            if missing:
                raise DataError(
                    f"{str(path)!r} has keys {sorted(archive.files)} but lacks {missing}: a Keras-layout "
                    f"mnist.npz holds x_train, y_train, x_test, y_test"
                )
            return archive[image_key], archive[label_key]
    except DataError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise DataError(
            f"{str(path)!r} is not a readable .npz ({type(exc).__name__}: {exc}); "
            f"expected Keras's mnist.npz layout"
        ) from None


def _find_idx(folder: Path, stem: str) -> Path:
    for candidate in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / candidate).is_file():
            return folder / candidate
    raise DataError(
        f"IDX file {stem}[.gz] not found in {str(folder)!r}: the folder needs LeCun's four IDX files"
    )


def _read_idx(path: Path, magic: int, ndim: int) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"{str(path)!r} could not be read ({type(exc).__name__}: {exc})") from None
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise DataError(f"{str(path)!r} is too short ({len(raw)} bytes) to be an IDX file")
    found_magic = int.from_bytes(raw[:4], "big")
    if found_magic != magic:
        raise DataError(f"{str(path)!r} has IDX magic {found_magic}, expected {magic}")
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    expected = int(np.prod(dims))
    if len(raw) - header_size != expected:
        raise DataError(
            f"{str(path)!r} holds {len(raw) - header_size} bytes of data, its header says {expected}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(dims)


def _load_idx_folder(folder: Path, split: str):
    image_stem, label_stem = IDX_STEMS[split]
    images = _read_idx(_find_idx(folder, image_stem), IDX_MAGIC_IMAGES, 3)
    labels = _read_idx(_find_idx(folder, label_stem), IDX_MAGIC_LABELS, 1)
    return images, labels


def _check_digits(images: np.ndarray, labels: np.ndarray, source: str) -> None:
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(f"images in {source!r} have shape {images.shape}: MNIST images must be (N, 28, 28)")
    if labels.shape != (images.shape[0],):
        raise DataError(
            f"labels in {source!r} have shape {labels.shape}: expected ({images.shape[0]},), one per image"
        )
    for name, array, high in (("images", images, 255), ("labels", labels, NUM_CLASSES - 1)):
        if not np.issubdtype(array.dtype, np.integer):
            raise DataError(
                f"{name} in {source!r} have dtype {array.dtype}: MNIST {name} must be integers (uint8)"
            )
        if array.size and (array.min() < 0 or array.max() > high):
            raise DataError(
                f"{name} in {source!r} range over {array.min()}..{array.max()}: allowed is 0..{high}"
            )


def hold_out_validation(train: Digits) -> tuple[Digits, Digits]:
    """(the training digits a sweep trains on, the validation digits it ranks trials against)."""
    if len(train) <= VALIDATION_SIZE:
        raise DataError(
            f"the training split of {train.source!r} holds {len(train)} digits: a validation slice of "
            f"{VALIDATION_SIZE} needs more"
        )
    cut = len(train) - VALIDATION_SIZE
    return (
        Digits(train.images[:cut], train.labels[:cut], train.source),
        Digits(train.images[cut:], train.labels[cut:], train.source),
    )


def to_unit_range(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [-1, 1], the generator's tanh range."""
    return (images.astype(np.float32).reshape((-1,) + IMAGE_SHAPE) - 127.5) / 127.5


def to_uint8(images: np.ndarray) -> np.ndarray:
    """float images in [-1, 1] back to uint8 pixels."""
    return np.clip(np.rint((np.asarray(images) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def balanced_subset(digits: Digits, per_class: int, seed: int = 0) -> Digits:
    """`per_class` images of every digit, drawn with `seed`, for smoke runs and tests."""
    check_positive("per_class", per_class, integer=True)
    rng = np.random.default_rng(seed)
    chosen = []
    for digit in range(NUM_CLASSES):
        members = np.flatnonzero(digits.labels == digit)
        if len(members) < per_class:
            raise DataError(
                f"per_class={per_class} is not allowed: digit {digit} has only {len(members)} images"
            )
        chosen.append(rng.choice(members, size=per_class, replace=False))
    index = np.sort(np.concatenate(chosen))
    return Digits(digits.images[index], digits.labels[index], digits.source)


def order_seed(seed: int, index: int) -> int:
    """The shuffle seed of pass `index` (an epoch, a trial's round) of a run seeded `seed`: a
    function of the two alone, so a run stopped and resumed at any pass shuffles the rest as the
    uninterrupted run did; spread apart so that seed s at pass i + 1 is not seed s + 1 at pass i."""
    return seed * 100_003 + index


def make_dataset(
    digits: Digits,
    batch_size: int,
    *,
    seed: int = 0,
    shuffle_buffer: int = 60_000,
    repeat: bool = False,
    examples=None,
):
    """(images in [-1, 1], int32 labels) batches: shuffled each epoch, drop_remainder, prefetched.

    `examples`: the digits as `make_examples(digits)` made them once, for a caller that builds several
    pipelines over the same digits (ganlib.run.Run: one per epoch) without converting them again.

    The whole split is 188 MB as float32, so it lives in memory and the pipeline does no per-step
    decoding; shuffling reshuffles every epoch with a seeded order.
    """
    import tensorflow as tf

    check_positive("batch_size", batch_size, integer=True)
    check_positive("shuffle_buffer", shuffle_buffer, integer=True)
    if batch_size > len(digits):
        raise DataError(f"batch_size={batch_size} is not allowed: the data hold only {len(digits)} images")
    dataset = examples if examples is not None else make_examples(digits)
    dataset = dataset.shuffle(min(shuffle_buffer, len(digits)), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    return dataset.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def make_examples(digits: Digits):
    """The digits as a tf.data source of (images in [-1, 1], int32 labels), in memory."""
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices((to_unit_range(digits.images), digits.labels.astype(np.int32)))
