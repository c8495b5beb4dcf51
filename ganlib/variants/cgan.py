"""Conditional GAN (Mirza and Osindero 2014, arXiv 1411.1784): both networks see the label y.

    min_G max_D E[log D(x|y)] + E[log(1 - D(G(z|y)|y))]

Real images are judged with their own labels, fakes with the labels they were generated for;
G uses the non-saturating loss. DCGAN networks with the label embedded (`ganlib.blocks`).
"""

from __future__ import annotations

import tensorflow as tf

from ganlib import losses
from ganlib.base import ConditionalGAN, compile_with_adam
from ganlib.blocks import conditional_discriminator, conditional_generator


class CGAN(ConditionalGAN):
    def train_step(self, data):
        real_images, real_labels = data
        batch_size = tf.shape(real_images)[0]
        latents = self.sample_latents(batch_size)
        fake_labels = self.sample_labels(batch_size)
        with tf.GradientTape() as d_tape:
            fake_images = self.generator([latents, fake_labels], training=True)
            real_logits = self.discriminator([real_images, real_labels], training=True)
            fake_logits = self.discriminator([fake_images, fake_labels], training=True)
            d_loss = losses.minimax_discriminator_loss(real_logits, fake_logits)
        self.descend((d_tape, d_loss, self.discriminator.trainable_weights, self.d_optimizer))

        with tf.GradientTape() as g_tape:
            fake_images = self.generator([latents, fake_labels], training=True)
            g_loss = losses.non_saturating_generator_loss(
                self.discriminator([fake_images, fake_labels], training=True)
            )
        self.descend((g_tape, g_loss, self.generator.trainable_weights, self.g_optimizer))
        return self.track(d_loss, g_loss, real_logits, fake_logits)


def build(config: dict) -> CGAN:
    """`config` as registry.resolve_config returns it: complete and checked."""
    model = CGAN(
        conditional_generator(config["latent_dim"], config["width"]),
        conditional_discriminator(config["width"]),
        config["latent_dim"],
        seed=config["seed"],
    )
    return compile_with_adam(model, config)
