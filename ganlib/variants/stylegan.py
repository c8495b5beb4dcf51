"""A StyleGAN for 28x28 digits (Karras, Laine and Aila 2019, arXiv 1812.04948).

    z -> mapping MLP -> w;  synthesis: learned constant 7x7 -> [AdaIN(w), noise] blocks at
    7, 14 and 28 pixels (two convolutions each, one style per convolution) -> 1 channel, tanh

Style mixing regularisation: with probability `mixing_prob` a batch is generated from two
latents, w1 for the styles before a random crossover layer and w2 after it. The loss is the
non-saturating one with the R1 penalty (gamma / 2) E||grad D(x)||^2 on real images, the paper's
default. Every layer has the equalised learning rate, the mapping network the paper's 0.01
learning-rate multiplier. The discriminator is the DCGAN one (two strided convolutions, so it costs
what the other variants' do) in equalised layers, with the minibatch standard deviation channel
of StyleGAN's discriminator before its logit. The defaults that differ from FFHQ's (gamma, a
discriminator faster than the generator) are measured choices, explained in the registry.
Not carried over from 1024x1024: progressive growing and the truncation trick.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from ganlib import losses
from ganlib.base import GAN, compile_with_adam
from ganlib.blocks import scaled
from ganlib.stylegan_layers import (
    AdaIN,
    Broadcast,
    ConstantInput,
    EqualizedConv2D,
    EqualizedDense,
    MinibatchStdDev,
    NoiseInjection,
    PixelNorm,
    StyleSelect,
)

RESOLUTIONS = (7, 14, 28)
STYLES = 2 * len(RESOLUTIONS)  # one per convolution
MAPPING_LR_MULTIPLIER = 0.01
# Keras' SeedGenerator(s) starts at (s, 0) and counts up, so two seeded alike draw the same normals:
# the noise layers' streams start above any run's own seed (the model's, its latents' and mixing's),
# and apart from one another's in every run.
NOISE_SEED_OFFSET = 1_000_003


def noise_seed(seed: int, index: int) -> int:
    """The seed of noise layer `index` in the synthesis network of a run seeded `seed`."""
    return NOISE_SEED_OFFSET + seed * STYLES + index


def mapping_network(latent_dim: int, style_dim: int, depth: int) -> keras.Model:
    stack = [keras.Input((latent_dim,)), PixelNorm()]
    for _ in range(depth):
        stack += [EqualizedDense(style_dim, lr_multiplier=MAPPING_LR_MULTIPLIER), layers.LeakyReLU(0.2)]
    return keras.Sequential(stack, name="mapping")


def synthesis_network(style_dim: int, width: float, seed: int = 0) -> keras.Model:
    """Per-layer styles (batch, STYLES, style_dim) -> image."""
    styles = keras.Input((STYLES, style_dim), name="styles")
    channels = {7: scaled(256, width), 14: scaled(128, width), 28: scaled(64, width)}
    x = ConstantInput((7, 7, channels[7]))(styles)
    for index in range(STYLES):
        resolution = RESOLUTIONS[index // 2]
        if index % 2 == 0 and resolution > 7:
            x = layers.UpSampling2D(interpolation="bilinear")(x)
        if index > 0:  # the constant itself is the first layer's input
            x = EqualizedConv2D(channels[resolution], 3)(x)
        x = NoiseInjection(seed=noise_seed(seed, index))(x)
        x = layers.LeakyReLU(0.2)(x)
        x = AdaIN()([x, StyleSelect(index)(styles)])
    image = layers.Activation("tanh")(EqualizedConv2D(1, 1, gain=1.0, name="to_image")(x))
    return keras.Model(styles, image, name="synthesis")


def style_discriminator(width: float) -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            EqualizedConv2D(scaled(64, width), 4, strides=2),
            layers.LeakyReLU(0.2),
            EqualizedConv2D(scaled(128, width), 4, strides=2),
            layers.LeakyReLU(0.2),
            MinibatchStdDev(),
            layers.Flatten(),
            EqualizedDense(1, gain=1.0),
        ],
        name="discriminator",
    )


def style_generator(mapping: keras.Model, synthesis: keras.Model, latent_dim: int) -> keras.Model:
    """The exported generator: z -> w, the same w for every layer -> image (no mixing)."""
    latents = keras.Input((latent_dim,), name="latents")
    return keras.Model(latents, synthesis(Broadcast(STYLES)(mapping(latents))), name="generator")


class StyleGAN(GAN):
    def __init__(
        self, mapping, synthesis, discriminator, latent_dim, mixing_prob: float, r1_gamma: float, **kwargs
    ):
        super().__init__(style_generator(mapping, synthesis, latent_dim), discriminator, latent_dim, **kwargs)
        self.mapping, self.synthesis = mapping, synthesis
        self.mixing_prob = float(mixing_prob)
        self.r1_gamma = float(r1_gamma)
        self.r1_tracker = self.add_tracker("r1_penalty")

    def mixed_styles(self, first_w, second_w, crossover):
        """Per sample: the first w for layers below `crossover`, the second from it on."""
        layer_index = tf.range(STYLES)[None, :, None]
        return tf.where(
            layer_index < tf.cast(crossover, tf.int32)[:, None, None],
            first_w[:, None, :],
            second_w[:, None, :],
        )

    def styles_for_training(self, batch_size):
        first_w = self.mapping(self.sample_latents(batch_size), training=True)
        second_w = self.mapping(self.sample_latents(batch_size), training=True)
        crossover = keras.random.randint((batch_size,), 1, STYLES, seed=self.seed_generator)
        mix = keras.random.uniform((batch_size,), seed=self.seed_generator) < self.mixing_prob
        # without mixing, the crossover lies past the last layer: w1 everywhere
        crossover = tf.where(mix, crossover, tf.fill([batch_size], STYLES))
        return self.mixed_styles(first_w, second_w, crossover)

    def train_step(self, data):
        real_images, _ = data
        batch_size = tf.shape(real_images)[0]
        generator_weights = self.generator.trainable_weights
        with tf.GradientTape() as d_tape:
            fake_images = self.synthesis(self.styles_for_training(batch_size), training=True)
            real_logits = self.discriminator(real_images, training=True)
            fake_logits = self.discriminator(fake_images, training=True)
            r1 = losses.r1_penalty(self.discriminator, real_images)
            d_loss = losses.minimax_discriminator_loss(real_logits, fake_logits) + 0.5 * self.r1_gamma * r1
        self.descend((d_tape, d_loss, self.discriminator.trainable_weights, self.d_optimizer))

        with tf.GradientTape() as g_tape:
            fake_images = self.synthesis(self.styles_for_training(batch_size), training=True)
            g_loss = losses.non_saturating_generator_loss(self.discriminator(fake_images, training=True))
        self.descend((g_tape, g_loss, generator_weights, self.g_optimizer))
        return self.track(d_loss, g_loss, real_logits, fake_logits, r1_penalty=r1)

    def mix(self, first_latents, second_latents, crossover: int) -> np.ndarray:
        """Images with the coarse styles (layers below `crossover`) of the first latents and the
        fine ones of the second: the paper's style-mixing figure."""
        first_w = self.mapping(np.asarray(first_latents, np.float32), training=False)
        second_w = self.mapping(np.asarray(second_latents, np.float32), training=False)
        crossover = tf.fill([tf.shape(first_w)[0]], int(crossover))
        return np.asarray(
            self.synthesis(self.mixed_styles(first_w, second_w, crossover), training=False), np.float32
        )

    def extra_grids(self, seed: int = 0) -> dict:
        """Row r: the coarse styles (7x7 and 14x14 layers) of source r, fine styles of 10 others."""
        coarse, fine = self.latents_for(10, seed), self.latents_for(10, seed + 1)
        images = self.mix(np.repeat(coarse, 10, axis=0), np.tile(fine, (10, 1)), crossover=4)
        return {"style_mixing": (images, None)}


def build(config: dict) -> StyleGAN:
    """`config` as registry.resolve_config returns it: complete and checked."""
    seed = config["seed"]
    model = StyleGAN(
        mapping_network(config["latent_dim"], config["style_dim"], config["mapping_depth"]),
        synthesis_network(config["style_dim"], config["width"], seed),
        style_discriminator(config["width"]),
        config["latent_dim"],
        mixing_prob=config["mixing_prob"],
        r1_gamma=config["r1_gamma"],
        seed=seed,
    )
    return compile_with_adam(model, config)
