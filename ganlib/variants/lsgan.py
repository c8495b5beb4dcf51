"""LSGAN (Mao et al. 2017, arXiv 1611.04076), eq. (2):

    min_D 1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2]
    min_G 1/2 E[(D(G(z)) - c)^2]

with the paper's two codings: "0-1" (a=0, b=1, c=1) and "-1-1-0" (a=-1, b=1, c=0, which
minimises the Pearson chi^2 divergence). DCGAN networks, trained with Adam.
"""

from __future__ import annotations

import tensorflow as tf

from ganlib import losses
from ganlib.base import GAN, compile_with_adam
from ganlib.blocks import dcgan_discriminator, dcgan_generator

# the registry's allowed coding values name these (tests/test_registry.py checks both agree)
CODINGS = {"0-1": (0.0, 1.0, 1.0), "-1-1-0": (-1.0, 1.0, 0.0)}


class LSGAN(GAN):
    def __init__(self, generator, discriminator, latent_dim, coding: str, **kwargs):
        super().__init__(generator, discriminator, latent_dim, **kwargs)
        self.a, self.b, self.c = CODINGS[coding]
        self.decision_threshold = (self.a + self.b) / 2.0

    def train_step(self, data):
        real_images, _ = data
        latents = self.sample_latents(tf.shape(real_images)[0])
        with tf.GradientTape() as d_tape:
            fake_images = self.generator(latents, training=True)
            real_outputs = self.discriminator(real_images, training=True)
            fake_outputs = self.discriminator(fake_images, training=True)
            d_loss = losses.least_squares_discriminator_loss(real_outputs, fake_outputs, self.a, self.b)
        self.descend((d_tape, d_loss, self.discriminator.trainable_weights, self.d_optimizer))

        with tf.GradientTape() as g_tape:
            g_loss = losses.least_squares_generator_loss(
                self.discriminator(self.generator(latents, training=True), training=True), self.c
            )
        self.descend((g_tape, g_loss, self.generator.trainable_weights, self.g_optimizer))
        return self.track(d_loss, g_loss, real_outputs, fake_outputs)


def build(config: dict) -> LSGAN:
    """`config` as registry.resolve_config returns it: complete and checked."""
    model = LSGAN(
        dcgan_generator(config["latent_dim"], config["width"]),
        dcgan_discriminator(config["width"], norm="batch"),
        config["latent_dim"],
        coding=config["coding"],
        seed=config["seed"],
    )
    return compile_with_adam(model, config)
