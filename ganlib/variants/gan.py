"""The seed paper's GAN: the TensorFlow DCGAN-tutorial networks trained as Goodfellow et al. 2014.

Generator: Dense(7*7*256) -> reshape -> Conv2DTranspose 128, 64, 1 (5x5) with BatchNorm and
LeakyReLU, tanh out. Discriminator: Conv2D 64, 128 (5x5, stride 2), LeakyReLU, Dropout 0.3,
Dense logit. BCE from logits, Adam 1e-4 for both, one D and one G update per step on the same
noise, as the seed's code does.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from ganlib import losses
from ganlib.base import GAN, compile_with_adam
from ganlib.batch_norm import FusedBatchNormalization
from ganlib.blocks import scaled

# the registry's allowed generator_loss values name these (tests/test_registry.py checks both agree)
GENERATOR_LOSSES = {
    "non_saturating": losses.non_saturating_generator_loss,
    "minimax": losses.minimax_generator_loss,
}


def tutorial_generator(latent_dim: int, width: float = 1.0) -> keras.Model:
    c256, c128, c64 = scaled(256, width), scaled(128, width), scaled(64, width)
    return keras.Sequential(
        [
            keras.Input((latent_dim,)),
            layers.Dense(7 * 7 * c256, use_bias=False),
            FusedBatchNormalization(),
            layers.LeakyReLU(),
            layers.Reshape((7, 7, c256)),
            layers.Conv2DTranspose(c128, 5, strides=1, padding="same", use_bias=False),
            FusedBatchNormalization(),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(c64, 5, strides=2, padding="same", use_bias=False),
            FusedBatchNormalization(),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False, activation="tanh"),
        ],
        name="generator",
    )


def tutorial_discriminator(width: float = 1.0, dropout: float = 0.3) -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(scaled(64, width), 5, strides=2, padding="same"),
            layers.LeakyReLU(),
            layers.Dropout(dropout),
            layers.Conv2D(scaled(128, width), 5, strides=2, padding="same"),
            layers.LeakyReLU(),
            layers.Dropout(dropout),
            layers.Flatten(),
            layers.Dense(1),
        ],
        name="discriminator",
    )


class VanillaGAN(GAN):
    """Goodfellow et al. 2014, Algorithm 1 with k = 1; the G loss is `generator_loss`, a key of
    GENERATOR_LOSSES (the paper's non-saturating one or its minimax original)."""

    def __init__(self, generator, discriminator, latent_dim, generator_loss: str, **kwargs):
        super().__init__(generator, discriminator, latent_dim, **kwargs)
        self.generator_loss = GENERATOR_LOSSES[generator_loss]

    def train_step(self, data):
        real_images, _ = data
        latents = self.sample_latents(tf.shape(real_images)[0])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake_images = self.generator(latents, training=True)
            # Two D calls, not one on concat(real, fake): G's gradient would then run D's backward
            # pass over the real half too, a slower step (benchmarks/README.md).
            real_logits = self.discriminator(real_images, training=True)
            fake_logits = self.discriminator(fake_images, training=True)
            d_loss = losses.minimax_discriminator_loss(real_logits, fake_logits)
            g_loss = self.generator_loss(fake_logits)
        # Both updates from this one forward pass, simultaneously (both gradients before either step).
        self.descend(
            (d_tape, d_loss, self.discriminator.trainable_weights, self.d_optimizer),
            (g_tape, g_loss, self.generator.trainable_weights, self.g_optimizer),
        )
        return self.track(d_loss, g_loss, real_logits, fake_logits)


def build(config: dict) -> VanillaGAN:
    """`config` as registry.resolve_config returns it: complete and checked."""
    model = VanillaGAN(
        tutorial_generator(config["latent_dim"], config["width"]),
        tutorial_discriminator(config["width"], config["dropout"]),
        config["latent_dim"],
        generator_loss=config["generator_loss"],
        seed=config["seed"],
    )
    return compile_with_adam(model, config)
