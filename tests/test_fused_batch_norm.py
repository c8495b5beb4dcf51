"""ganlib.batch_norm.FusedBatchNormalization: Keras's batch norm through TensorFlow's fused kernel.
The same outputs, gradients and moving averages as keras.layers.BatchNormalization, and exported
models in plain Keras layers."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from ganlib.batch_norm import FusedBatchNormalization, all_layers, as_keras_batch_norm


@pytest.mark.parametrize("shape", [(64, 48), (32, 7, 7, 16)])
def test_training_step_matches_keras_batch_norm(shape):
    x = tf.random.stateless_normal(shape, seed=(1, 2)) * 3.0 + 1.5
    results = []
    for kind in (keras.layers.BatchNormalization, FusedBatchNormalization):
        layer = kind(momentum=0.9)
        layer.build(shape)
        layer.gamma.assign(tf.linspace(0.5, 2.0, shape[-1]))
        layer.beta.assign(tf.linspace(-1.0, 1.0, shape[-1]))
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(tf.sin(y))
        grads = tape.gradient(loss, [x, layer.gamma, layer.beta])
        results.append((y, grads, layer.moving_mean, layer.moving_variance, layer(x, training=False)))
    (y0, g0, m0, v0, i0), (y1, g1, m1, v1, i1) = results
    np.testing.assert_allclose(y1, y0, rtol=1e-4, atol=1e-4)
    for a, b in zip(g1, g0):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(m1, m0, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(v1, v0, rtol=1e-5, atol=1e-6)  # biased variance, as Keras keeps it
    np.testing.assert_allclose(i1, i0, rtol=1e-5, atol=1e-5)


def test_under_bfloat16_it_returns_the_compute_dtype():
    layer = FusedBatchNormalization(dtype="mixed_bfloat16")
    out = layer(tf.ones((4, 3, 3, 2)), training=True)
    assert out.dtype == tf.bfloat16


def test_export_copy_has_plain_keras_layers_nested_too_and_the_same_function():
    from ganlib import registry

    generator = registry.build("cgan", {"width": 0.25}, seed=0).generator
    copy = as_keras_batch_norm(generator)
    assert any(isinstance(layer, FusedBatchNormalization) for layer in all_layers(generator))
    assert not any(isinstance(layer, FusedBatchNormalization) for layer in all_layers(copy))
    assert sum(type(layer) is keras.layers.BatchNormalization for layer in all_layers(copy)) == 3
    inputs = [np.random.default_rng(0).standard_normal((8, 100)).astype("float32"), np.arange(8) % 10]
    np.testing.assert_allclose(copy(inputs, training=False), generator(inputs, training=False), atol=1e-6)
