"""The MNIST loader and pipeline on the real file, in both formats, and every bad input."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from ganlib import data as mnist
from ganlib.errors import DataError


def write_idx(folder, digits, split, gz):
    image_stem, label_stem = mnist.IDX_STEMS[split]
    n = len(digits)
    image_bytes = (
        (2051).to_bytes(4, "big")
        + b"".join(d.to_bytes(4, "big") for d in (n, 28, 28))
        + digits.images.tobytes()
    )
    label_bytes = (2049).to_bytes(4, "big") + n.to_bytes(4, "big") + digits.labels.tobytes()
    for stem, payload in ((image_stem, image_bytes), (label_stem, label_bytes)):
        if gz:
            with gzip.open(folder / f"{stem}.gz", "wb") as handle:
                handle.write(payload)
        else:
            (folder / stem).write_bytes(payload)


def test_npz_holds_the_real_mnist(train_digits, test_digits):
    assert train_digits.images.shape == (60000, 28, 28) and train_digits.images.dtype == np.uint8
    assert test_digits.images.shape == (10000, 28, 28)
    assert list(train_digits.labels[:10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert list(test_digits.labels[:10]) == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(test_digits.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert train_digits.images.mean() == pytest.approx(33.318, abs=1e-3)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder_gives_the_same_digits_as_npz(tmp_path, small_digits, gz):
    from ganlib.data import Digits

    for split in mnist.SPLITS:
        write_idx(tmp_path, small_digits, split, gz)
    loaded = mnist.load_digits(tmp_path, "train")
    np.testing.assert_array_equal(loaded.images, small_digits.images)
    np.testing.assert_array_equal(loaded.labels, small_digits.labels)
    assert loaded.checksum() == Digits(small_digits.images, small_digits.labels, "x").checksum()


def test_environment_variable_names_the_file(monkeypatch, mnist_path):
    monkeypatch.setenv(mnist.ENV_VAR, str(mnist_path))
    assert len(mnist.load_digits(None, "test")) == 10000


def one_line(error) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


def test_missing_file_is_one_clear_line(tmp_path):
    with pytest.raises(DataError) as error:
        mnist.load_digits(tmp_path / "nope.npz")
    assert "nope.npz" in one_line(error) and "mnist.npz" in one_line(error)


@pytest.mark.parametrize(
    "arrays, words",
    [
        ({"images": np.zeros((5, 28, 28), np.uint8)}, ["lacks", "x_train"]),
        (
            {"x_train": np.zeros((5, 32, 32), np.uint8), "y_train": np.zeros(5, np.uint8)},
            ["(5, 32, 32)", "(N, 28, 28)"],
        ),
        (
            {"x_train": np.zeros((5, 28, 28), np.float32), "y_train": np.zeros(5, np.uint8)},
            ["float32", "uint8"],
        ),
        (
            {"x_train": np.full((5, 28, 28), 300, np.int16), "y_train": np.zeros(5, np.uint8)},
            ["300", "0..255"],
        ),
        ({"x_train": np.zeros((5, 28, 28), np.uint8), "y_train": np.full(5, 12, np.uint8)}, ["12", "0..9"]),
        (
            {"x_train": np.zeros((5, 28, 28), np.uint8), "y_train": np.zeros(4, np.uint8)},
            ["(4,)", "one per image"],
        ),
    ],
)
def test_wrong_npz_contents_are_refused(tmp_path, arrays, words):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError) as error:
        mnist.load_digits(path)
    for word in words:
        assert word in one_line(error)


def test_corrupt_file_and_bad_idx_are_refused(tmp_path):
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 this is not a zip archive at all")
    with pytest.raises(DataError) as error:
        mnist.load_digits(corrupt)
    assert "corrupt.npz" in one_line(error)
    (tmp_path / "idx").mkdir()
    (tmp_path / "idx" / "train-images-idx3-ubyte").write_bytes((1234).to_bytes(4, "big") + bytes(12))
    (tmp_path / "idx" / "train-labels-idx1-ubyte").write_bytes((2049).to_bytes(4, "big") + bytes(4))
    with pytest.raises(DataError) as error:
        mnist.load_digits(tmp_path / "idx")
    assert "magic 1234" in one_line(error)
    with pytest.raises(DataError, match="t10k-images"):
        mnist.load_digits(tmp_path / "idx", "test")


def test_bad_split_and_batch_size_are_refused(small_digits, mnist_path):
    with pytest.raises(DataError, match="split='valid'"):
        mnist.load_digits(mnist_path, "valid")
    with pytest.raises(ValueError, match="batch_size=0"):
        mnist.make_dataset(small_digits, 0)
    with pytest.raises(DataError, match="batch_size=5000"):
        mnist.make_dataset(small_digits, 5000)


def test_balanced_subset_is_balanced_and_seeded(train_digits):
    first = mnist.balanced_subset(train_digits, 30, seed=1)
    again = mnist.balanced_subset(train_digits, 30, seed=1)
    other = mnist.balanced_subset(train_digits, 30, seed=2)
    assert np.bincount(first.labels).tolist() == [30] * 10
    np.testing.assert_array_equal(first.images, again.images)
    assert not np.array_equal(first.images, other.images)


def test_pipeline_range_shapes_labels_and_order(small_digits):
    dataset = mnist.make_dataset(small_digits, 64, seed=3)
    batches = list(dataset.as_numpy_iterator())
    assert len(batches) == 1000 // 64  # drop_remainder
    images, labels = batches[0]
    assert images.shape == (64, 28, 28, 1) and images.dtype == np.float32
    assert images.min() >= -1.0 and images.max() <= 1.0
    assert images.min() == -1.0 and images.max() == 1.0
    assert labels.dtype == np.int32 and set(np.unique(labels)) <= set(range(10))
    # the label travels with its image
    index = int(
        np.flatnonzero((mnist.to_unit_range(small_digits.images) == images[0]).all(axis=(1, 2, 3)))[0]
    )
    assert small_digits.labels[index] == labels[0]
    again = next(iter(mnist.make_dataset(small_digits, 64, seed=3).as_numpy_iterator()))
    np.testing.assert_array_equal(again[0], images)
    assert np.array_equal(
        mnist.to_uint8(mnist.to_unit_range(small_digits.images))[..., 0], small_digits.images
    )
