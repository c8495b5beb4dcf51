"""InfoGAN (Chen et al. 2016, arXiv 1606.03657): the generator's input is noise z plus a latent
code c (one categorical code with 10 values and 2 continuous codes in U(-1, 1) for MNIST); a Q
head on the discriminator's body predicts c from G(z, c), and the game adds the lower bound L_I
on the mutual information I(c; G(z, c)):

    min_{G,Q} max_D  V(D, G) - lambda L_I(G, Q)

L_I is the cross-entropy of the categorical code plus, for the continuous codes, the Gaussian
log-likelihood with fixed unit variance (a squared error), weighted by `continuous_weight`.
The D step trains D's body, D's head and Q on V and L_I; the G step trains G on both.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from ganlib import losses
from ganlib.base import GAN, compile_with_adam
from ganlib.blocks import dcgan_generator, dcgan_init, discriminator_body
from ganlib.data import NUM_CLASSES
from ganlib.sampling import CATEGORY, CONTINUOUS

CONTINUOUS_CODES = 2


def info_generator(noise_dim: int, width: float) -> keras.Model:
    noise = keras.Input((noise_dim,), name="latents")
    category = keras.Input((), dtype="int32", name=CATEGORY)
    continuous = keras.Input((CONTINUOUS_CODES,), name=CONTINUOUS)
    one_hot = layers.CategoryEncoding(num_tokens=NUM_CLASSES, output_mode="one_hot")(category)
    joined = layers.Concatenate()([noise, one_hot, continuous])
    body = dcgan_generator(noise_dim + NUM_CLASSES + CONTINUOUS_CODES, width, name="generator_body")
    return keras.Model([noise, category, continuous], body(joined), name="generator")


def discriminator_with_q(width: float) -> keras.Model:
    images = keras.Input((28, 28, 1))
    features = discriminator_body(width)(images)
    source = layers.Dense(1, kernel_initializer=dcgan_init(), name="source")(features)
    q_hidden = layers.LeakyReLU(0.2)(
        layers.Dense(128, kernel_initializer=dcgan_init(), name="q_hidden")(features)
    )
    category_logits = layers.Dense(NUM_CLASSES, name="q_category")(q_hidden)
    continuous_mean = layers.Dense(CONTINUOUS_CODES, name="q_continuous")(q_hidden)
    return keras.Model(images, [source, category_logits, continuous_mean], name="discriminator")


def information_loss(category, continuous, category_logits, continuous_mean, continuous_weight):
    """-L_I up to constants: categorical cross-entropy plus weighted Gaussian NLL (unit variance)."""
    categorical = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=category, logits=tf.cast(category_logits, tf.float32)
        )
    )
    gaussian = 0.5 * tf.reduce_mean(
        tf.reduce_sum(tf.square(tf.cast(continuous_mean, tf.float32) - continuous), axis=1)
    )
    return categorical + continuous_weight * gaussian


class InfoGAN(GAN):
    def __init__(
        self, generator, discriminator, latent_dim, info_weight: float, continuous_weight: float, **kwargs
    ):
        super().__init__(generator, discriminator, latent_dim, **kwargs)
        self.info_weight = float(info_weight)
        self.continuous_weight = float(continuous_weight)
        self.info_tracker = self.add_tracker("info_loss")

    def sample_codes(self, batch_size):
        category = keras.random.randint(
            (batch_size,), 0, NUM_CLASSES, seed=self.seed_generator, dtype="int32"
        )
        continuous = keras.random.uniform((batch_size, CONTINUOUS_CODES), -1.0, 1.0, seed=self.seed_generator)
        return category, continuous

    def train_step(self, data):
        real_images, _ = data
        batch_size = tf.shape(real_images)[0]
        latents = self.sample_latents(batch_size)
        category, continuous = self.sample_codes(batch_size)
        with tf.GradientTape() as d_tape:
            fake_images = self.generator([latents, category, continuous], training=True)
            real_logits, _, _ = self.discriminator(real_images, training=True)
            fake_logits, category_logits, continuous_mean = self.discriminator(fake_images, training=True)
            info = information_loss(
                category, continuous, category_logits, continuous_mean, self.continuous_weight
            )
            d_loss = losses.minimax_discriminator_loss(real_logits, fake_logits) + self.info_weight * info
        self.descend((d_tape, d_loss, self.discriminator.trainable_weights, self.d_optimizer))

        with tf.GradientTape() as g_tape:
            fake_images = self.generator([latents, category, continuous], training=True)
            fake_logits, category_logits, continuous_mean = self.discriminator(fake_images, training=True)
            info = information_loss(
                category, continuous, category_logits, continuous_mean, self.continuous_weight
            )
            g_loss = losses.non_saturating_generator_loss(fake_logits) + self.info_weight * info
        self.descend((g_tape, g_loss, self.generator.trainable_weights, self.g_optimizer))
        return self.track(d_loss, g_loss, real_logits, fake_logits, info_loss=info)

    def code_grid(self, varied: str, seed: int = 0):
        """The paper's figure: row r holds category r; along the row one code varies and the rest
        stay fixed (the noise, and the other continuous code at 0)."""
        rows = np.repeat(np.arange(NUM_CLASSES), 10)
        continuous = np.zeros((100, CONTINUOUS_CODES), np.float32)
        if varied == "category":
            rows = np.tile(np.arange(NUM_CLASSES), 10)  # category along each row, noise down the columns
            latents = np.repeat(self.latents_for(10, seed), 10, axis=0)
        else:
            index = int(varied.rsplit("_", 1)[1])
            continuous[:, index] = np.tile(np.linspace(-2.0, 2.0, 10), 10)
            latents = np.repeat(self.latents_for(1, seed), 100, axis=0)
        return np.asarray(
            self.generator([latents, rows.astype(np.int32), continuous], training=False), np.float32
        )

    def extra_grids(self, seed: int = 0) -> dict:
        return {
            "category": (self.code_grid("category", seed), None),
            **{
                f"continuous_{i}": (self.code_grid(f"continuous_{i}", seed), list(range(NUM_CLASSES)))
                for i in range(CONTINUOUS_CODES)
            },
        }


def build(config: dict) -> InfoGAN:
    """`config` as registry.resolve_config returns it: complete and checked."""
    model = InfoGAN(
        info_generator(config["latent_dim"], config["width"]),
        discriminator_with_q(config["width"]),
        config["latent_dim"],
        info_weight=config["info_weight"],
        continuous_weight=config["continuous_weight"],
        seed=config["seed"],
    )
    return compile_with_adam(model, config)
