"""GAN losses as small pure functions of discriminator outputs (TF-GAN's layout).

Logits are raw discriminator outputs: no sigmoid has been applied. Every function returns a
scalar mean over the batch, so variants read as their paper's equations.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def _bce(labels_value: float, logits):
    logits = tf.cast(logits, tf.float32)
    labels = tf.fill(tf.shape(logits), labels_value)
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))


# Goodfellow et al. 2014: D maximises log D(x) + log(1 - D(G(z))).
def minimax_discriminator_loss(real_logits, fake_logits):
    return _bce(1.0, real_logits) + _bce(0.0, fake_logits)


def minimax_generator_loss(fake_logits):
    """The saturating form G minimises in the paper's equation: log(1 - D(G(z)))."""
    return -_bce(0.0, fake_logits)


def non_saturating_generator_loss(fake_logits):
    """-log D(G(z)): the paper's practical advice, and what the seed's code uses."""
    return _bce(1.0, fake_logits)


# Arjovsky et al. 2017: the critic estimates W(P_r, P_g) = E[f(x)] - E[f(G(z))].
def wasserstein_critic_loss(real_scores, fake_scores):
    return tf.reduce_mean(tf.cast(fake_scores, tf.float32)) - tf.reduce_mean(tf.cast(real_scores, tf.float32))


def wasserstein_generator_loss(fake_scores):
    return -tf.reduce_mean(tf.cast(fake_scores, tf.float32))


# Mao et al. 2017, eq. (2): a and b code fake and real for D, c is what G wants D to believe.
def least_squares_discriminator_loss(real_outputs, fake_outputs, a: float = 0.0, b: float = 1.0):
    real_outputs = tf.cast(real_outputs, tf.float32)
    fake_outputs = tf.cast(fake_outputs, tf.float32)
    return 0.5 * tf.reduce_mean(tf.square(real_outputs - b)) + 0.5 * tf.reduce_mean(
        tf.square(fake_outputs - a)
    )


def least_squares_generator_loss(fake_outputs, c: float = 1.0):
    return 0.5 * tf.reduce_mean(tf.square(tf.cast(fake_outputs, tf.float32) - c))


def gradient_penalty(critic, real_images, fake_images, alpha=None, seed=None):
    """Gulrajani et al. 2017: E[(||grad_x D(x_hat)||_2 - 1)^2] on x_hat = alpha x + (1 - alpha) G(z).

    alpha is drawn uniformly per sample unless given, so tests can place x_hat exactly. A training
    step passes its model's `keras.random.SeedGenerator` as `seed`: alpha then comes from the state
    a saved training state holds, and a resumed run draws what an uninterrupted one would have.
    """
    real_images = tf.cast(real_images, tf.float32)
    fake_images = tf.cast(fake_images, tf.float32)
    if alpha is None:
        alpha = keras.random.uniform([tf.shape(real_images)[0], 1, 1, 1], 0.0, 1.0, seed=seed)
    interpolates = alpha * real_images + (1.0 - alpha) * fake_images
    with tf.GradientTape() as tape:
        tape.watch(interpolates)
        scores = critic(interpolates, training=True)
    grads = tape.gradient(scores, interpolates)
    norms = tf.sqrt(tf.reduce_sum(tf.square(tf.cast(grads, tf.float32)), axis=[1, 2, 3]) + 1e-12)
    return tf.reduce_mean(tf.square(norms - 1.0))


def r1_penalty(discriminator, real_images):
    """Mescheder et al. 2018: E[||grad_x D(x)||^2] on real data only (StyleGAN's default, times gamma/2)."""
    real_images = tf.cast(real_images, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(real_images)
        logits = discriminator(real_images, training=True)
    grads = tf.cast(tape.gradient(logits, real_images), tf.float32)  # of the sum of logits over the batch
    return tf.reduce_mean(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]))


# Miyato et al. 2018, eqs. (16)-(17) (Lim and Ye 2017's geometric GAN): D maximises
# E[min(0, -1 + D(x))] + E[min(0, -1 - D(G(z)))], i.e. minimises the two hinges below; a sample
# already beyond its margin (D(x) >= 1, D(G(z)) <= -1) contributes no gradient.
def hinge_discriminator_loss(real_logits, fake_logits):
    real_logits = tf.cast(real_logits, tf.float32)
    fake_logits = tf.cast(fake_logits, tf.float32)
    return tf.reduce_mean(tf.nn.relu(1.0 - real_logits)) + tf.reduce_mean(tf.nn.relu(1.0 + fake_logits))


def hinge_generator_loss(fake_logits):
    """-E[D(G(z))]: G raises D's raw score on its samples, without a margin."""
    return -tf.reduce_mean(tf.cast(fake_logits, tf.float32))
