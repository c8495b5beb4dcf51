"""StyleGAN's layers (Karras et al. 2019, and ProGAN's equalised learning rate, Karras et al. 2018),
registered so saved generators load by name in a fresh process."""

from __future__ import annotations

import math

import keras
from keras import layers, ops

LEAKY_RELU_GAIN = math.sqrt(2.0)


@keras.saving.register_keras_serializable(package="ganlib")
class EqualizedDense(layers.Layer):
    """Dense with the equalised learning rate of Karras et al. (ProGAN 2018, kept by StyleGAN).

    Weights are stored as N(0, 1/lr_multiplier) and scaled at run time by gain / sqrt(fan_in) *
    lr_multiplier, so Adam's step moves every layer's effective weights at the same relative
    rate. lr_multiplier 0.01 is StyleGAN's mapping network: 100x slower, so w drifts gently.
    """

    def __init__(self, units, gain=LEAKY_RELU_GAIN, lr_multiplier=1.0, bias_init=0.0, **kwargs):
        super().__init__(**kwargs)
        self.units, self.gain, self.lr_multiplier, self.bias_init = units, gain, lr_multiplier, bias_init

    def build(self, input_shape):
        fan_in = input_shape[-1]
        self.kernel = self.add_weight(
            shape=(fan_in, self.units),
            initializer=keras.initializers.RandomNormal(0.0, 1.0 / self.lr_multiplier),
            name="kernel",
        )
        self.bias = self.add_weight(
            shape=(self.units,),
            initializer=keras.initializers.Constant(self.bias_init / self.lr_multiplier),
            name="bias",
        )
        self.weight_scale = self.gain / math.sqrt(fan_in) * self.lr_multiplier

    def call(self, x):
        kernel = ops.cast(self.kernel, self.compute_dtype) * self.weight_scale
        return ops.matmul(x, kernel) + ops.cast(self.bias, self.compute_dtype) * self.lr_multiplier

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "gain": self.gain,
            "lr_multiplier": self.lr_multiplier,
            "bias_init": self.bias_init,
        }


@keras.saving.register_keras_serializable(package="ganlib")
class EqualizedConv2D(layers.Layer):
    """Conv2D ("same" padding) with the equalised learning rate; see EqualizedDense."""

    def __init__(self, filters, kernel_size, strides=1, gain=LEAKY_RELU_GAIN, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.strides, self.gain = filters, kernel_size, strides, gain

    def build(self, input_shape):
        channels = input_shape[-1]
        shape = (self.kernel_size, self.kernel_size, channels, self.filters)
        self.kernel = self.add_weight(
            shape=shape, initializer=keras.initializers.RandomNormal(0.0, 1.0), name="kernel"
        )
        self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias")
        self.weight_scale = self.gain / math.sqrt(self.kernel_size * self.kernel_size * channels)

    def call(self, x):
        kernel = ops.cast(self.kernel, self.compute_dtype) * self.weight_scale
        return ops.conv(x, kernel, strides=self.strides, padding="same") + ops.cast(
            self.bias, self.compute_dtype
        )

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        shrink = lambda size: None if size is None else -(-size // self.strides)  # noqa: E731
        return (batch, shrink(height), shrink(width), self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "gain": self.gain,
        }


@keras.saving.register_keras_serializable(package="ganlib")
class MinibatchStdDev(layers.Layer):
    """ProGAN's minibatch standard deviation (kept by StyleGAN's discriminator): the feature-wise
    standard deviation over the batch, averaged to one number and appended as an extra channel,
    lets the discriminator see a batch with too little variety, which counters mode collapse."""

    def call(self, x):
        # in float32: under float16 the 1e-8 underflows, and sqrt's gradient at 0 is NaN
        deviation = ops.sqrt(ops.var(ops.cast(x, "float32"), axis=0) + 1e-8)
        summary = ops.cast(ops.mean(deviation), x.dtype)
        shape = ops.shape(x)
        return ops.concatenate(
            [x, ops.ones((shape[0], shape[1], shape[2], 1), dtype=x.dtype) * summary], axis=-1
        )

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)


@keras.saving.register_keras_serializable(package="ganlib")
class ConstantInput(layers.Layer):
    """StyleGAN's learned constant that synthesis starts from, repeated over the batch."""

    def __init__(self, shape, **kwargs):
        super().__init__(**kwargs)
        self.constant_shape = tuple(shape)

    def build(self, input_shape):
        # Not StyleGAN's ones: instance norm maps a spatially uniform constant to zeros, and the
        # first layer would start with no spatial structure and a 1/sqrt(eps) gradient.
        self.constant = self.add_weight(
            shape=(1, *self.constant_shape), initializer="random_normal", name="constant"
        )

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
        self.fixed_noise = self.add_weight(
            shape=(1, height, width, 1), initializer="random_normal", trainable=False, name="fixed_noise"
        )

    def call(self, x, training=None):
        if training:
            shape = ops.shape(x)
            noise = keras.random.normal(
                (shape[0], shape[1], shape[2], 1), seed=self.seed_generator, dtype=x.dtype
            )
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
        # scale starts at 1 (bias 0 on the "1 + y_s" form) and shift at 0: AdaIN begins as plain IN.
        # The maps take this layer's policy, not the global one: a generator trained in bfloat16 and
        # loaded where the global policy is float32 would otherwise mix the two dtypes
        self.style_scale = EqualizedDense(channels, gain=1.0, name="style_scale", dtype=self.dtype_policy)
        self.style_bias = EqualizedDense(channels, gain=1.0, name="style_bias", dtype=self.dtype_policy)
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
