"""What generated digits are compared with: the real digits' evaluator features, computed once and
cached on disk (keyed by evaluator and data checksums), and the real-data floor: FID and KID of
10,000 training digits against them, the best any generator can hope for.

Two references: "test", the test split, for every figure a run or a sweep reports; "validation",
the training split's held-out tail (ganlib.data.hold_out_validation), which sweeps rank trials
by, so that a reported best was never chosen on the digits it is scored on. The validation floor
draws its 10,000 real digits from the rest of the training split."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FLOOR_SAMPLES = 10_000
FLOOR_SEED = 0
REFERENCE_SPLITS = ("test", "validation")


@dataclass(frozen=True)
class Reference:
    key: str
    features: np.ndarray
    probabilities: np.ndarray
    images: np.ndarray  # the test split in [-1, 1], for the CAS
    labels: np.ndarray
    radii: dict
    floor: dict


def cache_dir() -> Path:
    return Path(os.environ.get("GANLIB_CACHE") or "~/.cache/ganlib").expanduser()


def reference_digits(data, split: str, *, floor: bool = False):
    """The real digits a split's reference holds, or with `floor` the training digits its floor
    draws from (read only when the statistics are not cached)."""
    from ganlib.data import hold_out_validation, load_digits
    from ganlib.errors import ConfigError

    if split not in REFERENCE_SPLITS:
        raise ConfigError(
            f"reference split {split!r} is not allowed: choose one of {', '.join(REFERENCE_SPLITS)}"
        )
    if split == "test":
        return load_digits(data, "train" if floor else "test")
    rest, validation = hold_out_validation(load_digits(data, "train"))
    return rest if floor else validation


@functools.lru_cache(maxsize=4)
def reference(data=None, split: str = "test") -> Reference:
    from ganlib.data import to_unit_range
    from ganlib.metrics import evaluator
    from ganlib.metrics.features import features_and_probabilities
    from ganlib.metrics.fid import fid
    from ganlib.metrics.kid import kid
    from ganlib.metrics.prdc import knn_radii

    test = reference_digits(data, split)
    test_images = to_unit_range(test.images)
    key = f"{evaluator.checksum()}-{test.checksum()}"
    path = cache_dir() / f"reference-{key}.npz"
    if path.exists():
        with np.load(path) as cached:
            return Reference(
                key,
                cached["features"],
                cached["probabilities"],
                test_images,
                test.labels,
                {3: cached["radii3"], 5: cached["radii5"]},
                {
                    "fid_real_floor": float(cached["fid_floor"]),
                    "kid_real_floor": float(cached["kid_floor"]),
                    "kid_real_floor_std": float(cached["kid_floor_std"]),
                },
            )
    feats, probs = features_and_probabilities(test_images)
    train = reference_digits(data, split, floor=True)
    chosen = np.random.default_rng(FLOOR_SEED).choice(len(train), FLOOR_SAMPLES, replace=False)
    train_feats, _ = features_and_probabilities(to_unit_range(train.images[chosen]))
    kid_mean, kid_std = kid(train_feats, feats)
    floor = {
        "fid_real_floor": fid(train_feats, feats),
        "kid_real_floor": kid_mean,
        "kid_real_floor_std": kid_std,
    }
    radii = {k: knn_radii(feats, k) for k in (3, 5)}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".partial-{os.getpid()}-{path.name}")
    np.savez(
        partial,
        features=feats,
        probabilities=probs,
        radii3=radii[3],
        radii5=radii[5],
        fid_floor=floor["fid_real_floor"],
        kid_floor=kid_mean,
        kid_floor_std=kid_std,
    )
    partial.replace(path)
    return Reference(key, feats, probs, test_images, test.labels, radii, floor)
