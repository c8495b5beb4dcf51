"""BiGAN (Donahue, Krähenbühl and Darrell 2017, arXiv 1605.09782): an encoder E: x -> z learned
alongside G: z -> x, and a discriminator on (image, code) pairs:

    min_{G,E} max_D  E_x[log D(x, E(x))] + E_z[log(1 - D(G(z), z))]

G and E are updated together on the inverted labels (the non-saturating form the paper's code
uses), from the same forward pass as D.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from ganlib import losses
from ganlib.base import GAN, compile_with_adam
from ganlib.blocks import dcgan_generator, dcgan_init, discriminator_features, scaled


def encoder(latent_dim: int, width: float) -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            *discriminator_features(width, "batch"),
            layers.Dense(latent_dim, kernel_initializer=dcgan_init()),
        ],
        name="encoder",
    )


def joint_discriminator(latent_dim: int, width: float, dropout: float) -> keras.Model:
    """D(x, z): image features and code features joined, then judged together."""
    images = keras.Input((28, 28, 1), name="images")
    codes = keras.Input((latent_dim,), name="codes")
    x = images
    for layer in discriminator_features(width, "none"):
        x = layer(x)
    z = layers.LeakyReLU(0.2)(layers.Dense(scaled(256, width), kernel_initializer=dcgan_init())(codes))
    joined = layers.Dropout(dropout)(layers.Concatenate()([x, z]))
    hidden = layers.Dropout(dropout)(
        layers.LeakyReLU(0.2)(layers.Dense(scaled(512, width), kernel_initializer=dcgan_init())(joined))
    )
    return keras.Model(
        [images, codes], layers.Dense(1, kernel_initializer=dcgan_init())(hidden), name="discriminator"
    )


class BiGAN(GAN):
    def __init__(self, generator, encoder_network, discriminator, latent_dim, **kwargs):
        super().__init__(generator, discriminator, latent_dim, **kwargs)
        self.encoder = encoder_network

    def train_step(self, data):
        real_images, _ = data
        latents = self.sample_latents(tf.shape(real_images)[0])
        generator_and_encoder = self.generator_side_weights
        with tf.GradientTape() as d_tape, tf.GradientTape() as ge_tape:
            fake_images = self.generator(latents, training=True)
            encoded = self.encoder(real_images, training=True)
            real_logits = self.discriminator([real_images, encoded], training=True)
            fake_logits = self.discriminator([fake_images, latents], training=True)
            d_loss = losses.minimax_discriminator_loss(real_logits, fake_logits)
            # G and E win when D takes (G(z), z) for data and (x, E(x)) for generated
            ge_loss = losses.minimax_discriminator_loss(fake_logits, real_logits)
        # D and (G, E) from this one forward pass, simultaneously (both gradients before either step).
        self.descend(
            (d_tape, d_loss, self.discriminator.trainable_weights, self.d_optimizer),
            (ge_tape, ge_loss, generator_and_encoder, self.g_optimizer),
        )
        return self.track(d_loss, ge_loss, real_logits, fake_logits)

    @property
    def generator_side_weights(self):
        return self.generator.trainable_weights + self.encoder.trainable_weights

    def encode(self, images, batch_size: int = 500) -> np.ndarray:
        """Codes E(x) for images in [-1, 1] of shape (n, 28, 28, 1)."""
        images = np.asarray(images, np.float32)
        return np.concatenate(
            [
                np.asarray(self.encoder(images[i : i + batch_size], training=False))
                for i in range(0, len(images), batch_size)
            ]
        )


def build(config: dict) -> BiGAN:
    """`config` as registry.resolve_config returns it: complete and checked."""
    model = BiGAN(
        dcgan_generator(config["latent_dim"], config["width"]),
        encoder(config["latent_dim"], config["width"]),
        joint_discriminator(config["latent_dim"], config["width"], config["dropout"]),
        config["latent_dim"],
        seed=config["seed"],
    )
    return compile_with_adam(model, config)
