"""Batch normalization through TensorFlow's fused kernel, and the way back to Keras's own layer for
export; registered so saved models load by name in a fresh process."""

from __future__ import annotations

import keras
from keras import layers


@keras.saving.register_keras_serializable(package="ganlib")
class FusedBatchNormalization(layers.BatchNormalization):
    """Keras's BatchNormalization, trained through TensorFlow's fused kernel.

    Keras 3 computes a training-mode batch norm from separate moments and elementwise ops, and
    differentiates each of them; tf.keras 2 (what the seed paper's code ran) used TensorFlow's
    fused op, one kernel forward and one backward. Same statistics, same weights, same updates of
    the moving averages, in less time (benchmarks/README.md). Inference, masks and renorm take
    Keras's own path.
    `as_keras_batch_norm` turns a model back into plain Keras layers for export.
    """

    def call(self, inputs, training=None, mask=None):
        rank = len(inputs.shape)
        if (
            not (training and self.trainable)
            or mask is not None
            or self.renorm
            or self.axis % rank != rank - 1
            or rank not in (2, 4)
        ):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        channels = inputs.shape[-1]
        x = tf.cast(inputs, "float32")  # statistics in float32 under mixed precision, as Keras does
        images = x if rank == 4 else tf.reshape(x, [-1, 1, 1, channels])
        scale = tf.cast(self.gamma, "float32") if self.scale else tf.ones([channels])
        offset = tf.cast(self.beta, "float32") if self.center else tf.zeros([channels])
        y, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            images, scale, offset, epsilon=self.epsilon, is_training=True
        )
        # the op hands back the Bessel-corrected variance; Keras's moving average takes the biased one
        count = tf.cast(tf.size(images) // channels, "float32")
        variance = variance * (count - 1.0) / count
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        y = y if rank == 4 else tf.reshape(y, tf.shape(inputs))
        return tf.cast(y, self.compute_dtype)


def all_layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from all_layers(layer)


def as_keras_batch_norm(model):
    """A copy of `model` with every FusedBatchNormalization a plain keras BatchNormalization and the
    same weights: exported generators load with plain Keras, without ganlib installed."""
    if not any(isinstance(layer, FusedBatchNormalization) for layer in all_layers(model)):
        return model

    def clone(layer):
        kind = layers.BatchNormalization if isinstance(layer, FusedBatchNormalization) else type(layer)
        return kind.from_config(layer.get_config())

    copy = keras.models.clone_model(model, clone_function=clone, recursive=True)
    copy.set_weights(model.get_weights())
    return copy
