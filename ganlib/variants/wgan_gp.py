"""WGAN-GP (Gulrajani et al. 2017, arXiv 1704.00028), Algorithm 1.

    for t = 1, ..., n_critic:
        for each sample: x real, z noise, eps ~ U[0, 1]
            x_hat <- eps x + (1 - eps) G(z)
            L <- D(G(z)) - D(x) + lambda (||grad D(x_hat)||_2 - 1)^2
        w <- Adam(grad_w mean L, alpha, beta1, beta2)
    theta <- Adam(grad_theta mean -D(G(z)), alpha, beta1, beta2)

The paper's Algorithm 1 takes lambda = 10, n_critic = 5, alpha = 1e-4, beta1 = 0, beta2 = 0.9
(the registry's defaults follow it); the critic has no BatchNorm, since the penalty is per
sample and BatchNorm couples the samples of a batch.
"""

from __future__ import annotations

from ganlib import losses
from ganlib.base import compile_with_adam
from ganlib.blocks import dcgan_discriminator, dcgan_generator
from ganlib.variants.wgan import CriticGAN


class WGANGP(CriticGAN):
    def __init__(self, generator, critic, latent_dim, n_critic: int, gp_weight: float, **kwargs):
        super().__init__(generator, critic, latent_dim, n_critic=n_critic, **kwargs)
        self.gp_weight = float(gp_weight)
        self.penalty_tracker = self.add_tracker("gradient_penalty")

    def critic_loss(self, real_images, fake_images, real_scores, fake_scores):
        wasserstein = losses.wasserstein_critic_loss(real_scores, fake_scores)
        penalty = losses.gradient_penalty(
            self.discriminator, real_images, fake_images, seed=self.seed_generator
        )
        return wasserstein + self.gp_weight * penalty, {
            "gradient_penalty": penalty,
            "wasserstein_estimate": -wasserstein,
        }


def build(config: dict) -> WGANGP:
    """`config` as registry.resolve_config returns it: complete and checked."""
    model = WGANGP(
        dcgan_generator(config["latent_dim"], config["width"]),
        dcgan_discriminator(config["width"], norm="none", name="critic"),
        config["latent_dim"],
        n_critic=config["n_critic"],
        gp_weight=config["gp_weight"],
        seed=config["seed"],
    )
    return compile_with_adam(model, config)
