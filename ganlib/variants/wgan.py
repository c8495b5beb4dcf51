"""WGAN with weight clipping (Arjovsky, Chintala and Bottou 2017, arXiv 1701.07875), Algorithm 1.

    while theta has not converged:
        for t = 0, ..., n_critic - 1:
            sample a fresh real batch and a noise batch
            g_w <- grad_w [ mean f_w(x) - mean f_w(g_theta(z)) ]
            w <- w + alpha * RMSProp(w, g_w)
            w <- clip(w, -c, c)
        sample a noise batch
        g_theta <- -grad_theta mean f_w(g_theta(z))
        theta <- theta - alpha * RMSProp(theta, g_theta)

The paper's Algorithm 1 takes alpha = 5e-5, c = 0.01, m = 64, n_critic = 5 (the registry's
defaults follow it). The dataset hands each train_step n_critic real batches laid end to end
(`real_batches_per_step`), so every critic update sees fresh real data as the algorithm asks.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from ganlib import losses
from ganlib.base import GAN, ema_momentum, with_average
from ganlib.blocks import dcgan_discriminator, dcgan_generator


class CriticGAN(GAN):
    """What WGAN and WGAN-GP share: their Algorithm 1, n_critic critic updates on fresh real
    batches, then the generator's update on -E[f(G(z))]. A subclass writes `critic_step`."""

    decision_threshold = None  # a critic's scores have no fixed zero

    def __init__(self, generator, critic, latent_dim, n_critic: int, **kwargs):
        super().__init__(generator, critic, latent_dim, **kwargs)
        self.real_batches_per_step = int(n_critic)
        self.wasserstein_tracker = self.add_tracker("wasserstein_estimate")

    def train_step(self, data):
        real_images, _ = data
        # for t = 1, ..., n_critic: a critic update on the t-th fresh real batch
        critic_logs = [self.critic_step(real_batch) for real_batch in self.split_real_batches(real_images)]
        # then one generator update on a noise batch of the same size m
        g_loss = self.generator_step(tf.shape(real_images)[0] // self.real_batches_per_step)
        # The trackers report the last critic update's loss and scores: the critic G was just trained against.
        return self.track(g_loss=g_loss, **critic_logs[-1])

    def critic_step(self, real_batch) -> dict:
        """One critic update on `real_batch` and a noise batch of its size; returns what the trackers
        take from it: d_loss, real_outputs, fake_outputs and the variant's extra trackers."""
        latents = self.sample_latents(tf.shape(real_batch)[0])
        with tf.GradientTape() as tape:
            fake_images = self.generator(latents, training=True)
            real_scores = self.discriminator(real_batch, training=True)
            fake_scores = self.discriminator(fake_images, training=True)
            d_loss, extra = self.critic_loss(real_batch, fake_images, real_scores, fake_scores)
        self.descend((tape, d_loss, self.discriminator.trainable_weights, self.d_optimizer))
        self.after_critic_update()
        return {"d_loss": d_loss, "real_outputs": real_scores, "fake_outputs": fake_scores, **extra}

    def critic_loss(self, real_images, fake_images, real_scores, fake_scores):
        """(the loss the critic descends, the variant's extra tracker values)."""
        raise NotImplementedError

    def after_critic_update(self) -> None:
        """What the variant does to the critic after each update (WGAN clips its weights)."""

    def generator_step(self, batch_size):
        latents = self.sample_latents(batch_size)
        with tf.GradientTape() as tape:
            g_loss = losses.wasserstein_generator_loss(
                self.discriminator(self.generator(latents, training=True), training=True)
            )
        self.descend((tape, g_loss, self.generator.trainable_weights, self.g_optimizer))
        return g_loss


class WGAN(CriticGAN):
    def __init__(self, generator, critic, latent_dim, n_critic: int, clip_value: float, **kwargs):
        super().__init__(generator, critic, latent_dim, n_critic=n_critic, **kwargs)
        self.clip_value = float(clip_value)

    def clip_critic_weights(self):
        for weight in self.discriminator.trainable_weights:
            weight.assign(tf.clip_by_value(weight, -self.clip_value, self.clip_value))

    def critic_loss(self, real_images, fake_images, real_scores, fake_scores):
        d_loss = losses.wasserstein_critic_loss(real_scores, fake_scores)
        return d_loss, {"wasserstein_estimate": -d_loss}

    def after_critic_update(self) -> None:
        self.clip_critic_weights()


def build(config: dict) -> WGAN:
    """`config` as registry.resolve_config returns it: complete and checked."""
    model = WGAN(
        dcgan_generator(config["latent_dim"], config["width"]),
        dcgan_discriminator(config["width"], norm="batch", name="critic"),
        config["latent_dim"],
        n_critic=config["n_critic"],
        clip_value=config["clip_value"],
        seed=config["seed"],
    )
    # The paper uses RMSProp: momentum-based optimisers made the clipped critic unstable.
    model.compile(
        g_optimizer=with_average(
            keras.optimizers.RMSprop, ema_momentum(config), learning_rate=config["g_lr"]
        ),
        d_optimizer=keras.optimizers.RMSprop(config["d_lr"]),
    )
    return model
