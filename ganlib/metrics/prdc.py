"""Manifold metrics on evaluator features: precision and recall (Kynkaanniemi et al. 2019, k=3)
and density and coverage (Naeem et al. 2020, k=5).

Each real (fake) sample owns a ball reaching its k-th nearest real (fake) neighbour. Squared
distances are compared with squared radii in row chunks, so 10,000 x 10,000 pairs never sit in
memory at once; TensorFlow's multithreaded matmul and top_k do the work (numpy's partition over
the same rows was slower here).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

CHUNK = 2000


def _squared_distances(a, b, a_norms, b_norms):
    return tf.maximum(a_norms[:, None] + b_norms[None, :] - 2.0 * tf.matmul(a, b, transpose_b=True), 0.0)


def _prepare(feats):
    feats = tf.constant(np.asarray(feats, np.float32))
    return feats, tf.reduce_sum(tf.square(feats), axis=1)


def knn_radii(feats: np.ndarray, k: int) -> np.ndarray:
    """Distance from each sample to its k-th nearest other sample."""
    feats, norms = _prepare(feats)
    radii = []
    for start in range(0, int(feats.shape[0]), CHUNK):
        block = _squared_distances(feats[start : start + CHUNK], feats, norms[start : start + CHUNK], norms)
        # the (k+1)-th smallest counts the sample itself at distance 0
        radii.append(tf.sqrt(-tf.math.top_k(-block, k + 1).values[:, k]))
    return tf.concat(radii, 0).numpy().astype(np.float64)


def prdc(real: np.ndarray, fake: np.ndarray, real_radii: dict | None = None) -> dict[str, float]:
    """precision, recall (k=3) and density, coverage (k=5) of `fake` against `real` features.

    `real_radii` ({3: radii, 5: radii}) can be passed from a cache, since the real set is fixed.
    """
    real_radii = real_radii or {k: knn_radii(real, k) for k in (3, 5)}
    fake_radii3_sq = tf.constant(np.square(knn_radii(fake, 3)), tf.float32)
    real3_sq = tf.constant(np.square(real_radii[3]), tf.float32)
    real5_sq = tf.constant(np.square(real_radii[5]), tf.float32)
    real, real_norms = _prepare(real)
    fake, fake_norms = _prepare(fake)
    n_real, n_fake = int(real.shape[0]), int(fake.shape[0])
    fake_in_real3 = tf.zeros([n_fake], tf.bool)
    fake_in_real5_count = tf.zeros([n_fake], tf.float32)
    real_in_fake3, real_covered5 = [], []
    for start in range(0, n_real, CHUNK):
        stop = start + CHUNK
        distances = _squared_distances(real[start:stop], fake, real_norms[start:stop], fake_norms)
        fake_in_real3 = tf.logical_or(
            fake_in_real3, tf.reduce_any(distances <= real3_sq[start:stop, None], axis=0)
        )
        inside5 = distances <= real5_sq[start:stop, None]
        fake_in_real5_count += tf.reduce_sum(tf.cast(inside5, tf.float32), axis=0)
        real_in_fake3.append(tf.reduce_any(distances <= fake_radii3_sq[None, :], axis=1))
        real_covered5.append(tf.reduce_any(inside5, axis=1))
    return {
        "precision": float(tf.reduce_mean(tf.cast(fake_in_real3, tf.float32))),
        "recall": float(tf.reduce_mean(tf.cast(tf.concat(real_in_fake3, 0), tf.float32))),
        "density": float(tf.reduce_sum(fake_in_real5_count)) / (5 * n_fake),
        "coverage": float(tf.reduce_mean(tf.cast(tf.concat(real_covered5, 0), tf.float32))),
    }
