"""Custom Keras layers (StyleGAN's), registered so saved generators load by name in a fresh process."""

from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="ganlib")
class ConstantInput(layers.Layer):
    """StyleGAN's learned constant that synthesis starts from, repeated over the batch."""

    def __init__(self, shape, **kwargs):
        super().__init__(**kwargs)
        self.constant_shape = tuple(shape)

    def build(self, input_shape):
        self.constant = self.add_weight(shape=(1, *self.constant_shape), initializer="random_normal", name="constant")

    def call(self, styles):
        return ops.repeat(self.constant, ops.shape(styles)[0], axis=0)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.constant_shape)

    def get_config(self):
        return {**super().get_config(), "shape": self.constant_shape}


@keras.saving.register_keras_serializable(package="ganlib")
class NoiseInjection(layers.Layer):
    """Per-pixel Gaussian noise times a learned per-channel scale (initially 0).

    Training draws fresh noise every call; inference uses one fixed noise image stored with the
    weights (StyleGAN2's "const" noise mode), so the same latents always give the same digit.
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        height, width, channels = input_shape[1:]
        self.scale = self.add_weight(shape=(channels,), initializer="zeros", name="scale")
        self.fixed_noise = self.add_weight(shape=(1, height, width, 1), initializer="random_normal", trainable=False, name="fixed_noise")

    def call(self, x, training=None):
        if training:
            shape = ops.shape(x)
            noise = keras.random.normal((shape[0], shape[1], shape[2], 1), seed=self.seed_generator, dtype=x.dtype)
        else:
            noise = ops.cast(self.fixed_noise, x.dtype)
        return x + ops.cast(self.scale, x.dtype) * noise

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="ganlib")
class AdaIN(layers.Layer):
    """Adaptive instance normalisation (Huang and Belongie 2017) as StyleGAN uses it: normalise
    each channel of each sample, then scale and shift by an affine map of the style w."""

    def __init__(self, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def build(self, input_shapes):
        feature_shape, style_shape = input_shapes
        channels = feature_shape[-1]
        # scale starts at 1 (bias 1 on the "1 + y_s" form) and shift at 0: AdaIN begins as plain IN
        self.style_scale = layers.Dense(channels, bias_initializer="zeros", name="style_scale")
        self.style_bias = layers.Dense(channels, bias_initializer="zeros", name="style_bias")
        self.style_scale.build(style_shape)
        self.style_bias.build(style_shape)

    def call(self, inputs):
        x, style = inputs
        mean = ops.mean(x, axis=(1, 2), keepdims=True)
        variance = ops.var(x, axis=(1, 2), keepdims=True)
        normalised = (x - mean) * ops.rsqrt(variance + self.epsilon)
        scale = 1.0 + self.style_scale(style)[:, None, None, :]
        bias = self.style_bias(style)[:, None, None, :]
        return normalised * scale + bias

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="ganlib")
class PixelNorm(layers.Layer):
    """Normalise each latent to unit average square (StyleGAN's mapping-network input)."""

    def call(self, x):
        return x * ops.rsqrt(ops.mean(ops.square(x), axis=-1, keepdims=True) + 1e-8)


@keras.saving.register_keras_serializable(package="ganlib")
class StyleSelect(layers.Layer):
    """The style of one synthesis layer out of the stack (batch, layers, style_dim)."""

    def __init__(self, index: int, **kwargs):
        super().__init__(**kwargs)
        self.index = index

    def call(self, styles):
        return styles[:, self.index]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def get_config(self):
        return {**super().get_config(), "index": self.index}


@keras.saving.register_keras_serializable(package="ganlib")
class Broadcast(layers.Layer):
    """One w for every synthesis layer: (batch, style_dim) -> (batch, copies, style_dim)."""

    def __init__(self, copies: int, **kwargs):
        super().__init__(**kwargs)
        self.copies = copies

    def call(self, w):
        return ops.repeat(w[:, None, :], self.copies, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.copies, input_shape[1])

    def get_config(self):
        return {**super().get_config(), "copies": self.copies}
