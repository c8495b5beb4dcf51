"""DCGAN (Radford, Metz and Chintala 2016): the all-convolutional architecture of `ganlib.blocks`,
trained with the minimax discriminator loss, the non-saturating generator loss and Adam(2e-4, 0.5)."""

from __future__ import annotations

import tensorflow as tf

from ganlib import losses
from ganlib.base import GAN, compile_with_adam
from ganlib.blocks import dcgan_discriminator, dcgan_generator


class DCGAN(GAN):
    def train_step(self, data):
        real_images, _ = data
        latents = self.sample_latents(tf.shape(real_images)[0])
        # Update D on a real and a fake minibatch, each through BatchNorm on its own (the paper's
        # practice), then G through the updated D.
        with tf.GradientTape() as d_tape:
            fake_images = self.generator(latents, training=True)
            real_logits = self.discriminator(real_images, training=True)
            fake_logits = self.discriminator(fake_images, training=True)
            d_loss = losses.minimax_discriminator_loss(real_logits, fake_logits)
        self.descend((d_tape, d_loss, self.discriminator.trainable_weights, self.d_optimizer))

        with tf.GradientTape() as g_tape:
            g_loss = losses.non_saturating_generator_loss(
                self.discriminator(self.generator(latents, training=True), training=True)
            )
        self.descend((g_tape, g_loss, self.generator.trainable_weights, self.g_optimizer))
        return self.track(d_loss, g_loss, real_logits, fake_logits)


def build(config: dict) -> DCGAN:
    """`config` as registry.resolve_config returns it: complete and checked."""
    model = DCGAN(
        dcgan_generator(config["latent_dim"], config["width"]),
        dcgan_discriminator(config["width"], norm="batch"),
        config["latent_dim"],
        seed=config["seed"],
    )
    return compile_with_adam(model, config)
