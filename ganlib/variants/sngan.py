"""SN-GAN (Miyato et al. 2018, arXiv 1802.05957): every weight of D divided by its spectral norm,
trained with the hinge loss, eqs. (16)-(17). Appendix A, Algorithm 1, for each update of D and
each layer l:

    v_l <- W_l^T u_l / ||W_l^T u_l||_2,   u_l <- W_l v_l / ||W_l v_l||_2     (one power iteration)
    W_SN,l <- W_l / sigma(W_l),           sigma(W_l) = u_l^T W_l v_l
    W_l <- W_l - alpha grad_{W_l} loss(W_SN,l, minibatch)

and, with n_dis = 1, one generator update per discriminator update:

    min_D  E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]
    min_G  -E[D(G(z))]

D is the project's DCGAN discriminator (not the paper's seven-layer CNN for 32x32, so `sngan`
compares with the other variants) with each Conv2D and Dense in keras.layers.SpectralNormalization,
LeakyReLU 0.1 (Table 3) and no BatchNorm; G is the project's DCGAN generator. Adam 2e-4, beta1 0.5,
n_dis = 1: the paper's setting C (Table 1), DCGAN's own, so `sngan` against `dcgan` compares the
normalisation and the loss, not the optimiser; the search space covers setting B.

Keras's SpectralNormalization writes W / sigma into the kernel on every training-mode call (one
power iteration, u kept as a non-trainable weight that the training state saves), so the gradient
is taken at W_SN without the paper's term through sigma: a projection after every step. Hence D
sees real and fake in one call (one power iteration per D update, as Algorithm 1), G's step calls
D in training mode too (as the authors' Chainer code), and `spectral` keeps the power iteration in
float32 under mixed precision.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from ganlib import losses
from ganlib.base import GAN, compile_with_adam
from ganlib.blocks import dcgan_generator, dcgan_init, scaled

# The paper's Algorithm 1 and experiments: one power iteration per update, u recycled between
# updates (Appendix A: "one round of power iteration was sufficient").
POWER_ITERATIONS = 1
LEAKY_SLOPE = 0.1  # Table 3: "The slopes of all lReLU functions in the networks are set to 0.1."


def spectral(layer: layers.Layer) -> layers.Layer:
    # autocast=False: under a mixed policy the wrapper would otherwise read the float32 kernel and
    # u cast to float16 / bfloat16, run the power iteration there and write W / sigma back at that
    # precision, rounding the float32 master weights to 11 (float16) or 8 (bfloat16) significant
    # bits on every training call, so Adam updates finer than that are lost; in float16 a sum of
    # squares in the iteration can also underflow to 0 and make the kernel NaN. The wrapped layer
    # still autocasts for its own convolution or matmul: only the power iteration and the
    # write-back stay in float32.
    return layers.SpectralNormalization(layer, power_iterations=POWER_ITERATIONS, autocast=False)


def sn_discriminator(width: float = 1.0, name: str = "discriminator") -> keras.Model:
    """The DCGAN discriminator's layout, every weight spectrally normalised, no BatchNorm."""
    init = dcgan_init()
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            spectral(layers.Conv2D(scaled(64, width), 4, strides=2, padding="same", kernel_initializer=init)),
            layers.LeakyReLU(LEAKY_SLOPE),
            spectral(
                layers.Conv2D(scaled(128, width), 4, strides=2, padding="same", kernel_initializer=init)
            ),
            layers.LeakyReLU(LEAKY_SLOPE),
            layers.Flatten(),
            spectral(layers.Dense(1, kernel_initializer=init)),
        ],
        name=name,
    )


class SNGAN(GAN):
    def train_step(self, data):
        real_images, _ = data
        batch_size = tf.shape(real_images)[0]
        latents = self.sample_latents(batch_size)
        with tf.GradientTape() as d_tape:
            fake_images = self.generator(latents, training=True)
            # One call on both halves: one power iteration, one W_SN for both terms of the loss
            # (the cast: under mixed precision G's images come in the compute dtype).
            both = tf.concat([tf.cast(real_images, fake_images.dtype), fake_images], axis=0)
            real_logits, fake_logits = tf.split(self.discriminator(both, training=True), 2, axis=0)
            d_loss = losses.hinge_discriminator_loss(real_logits, fake_logits)
        self.descend((d_tape, d_loss, self.discriminator.trainable_weights, self.d_optimizer))

        with tf.GradientTape() as g_tape:
            # training=True: D's kernels are re-normalised after the update above (see the module doc)
            g_loss = losses.hinge_generator_loss(
                self.discriminator(self.generator(latents, training=True), training=True)
            )
        self.descend((g_tape, g_loss, self.generator.trainable_weights, self.g_optimizer))
        return self.track(d_loss, g_loss, real_logits, fake_logits)


def build(config: dict) -> SNGAN:
    """`config` as registry.resolve_config returns it: complete and checked."""
    model = SNGAN(
        dcgan_generator(config["latent_dim"], config["width"]),
        sn_discriminator(config["width"]),
        config["latent_dim"],
        seed=config["seed"],
    )
    return compile_with_adam(model, config)
