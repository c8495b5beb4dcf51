"""Networks several variants share: the DCGAN generator and discriminator for 28x28 digits.

Radford et al. 2016's rules: strided (transposed) convolutions instead of pooling, BatchNorm in
the generator, ReLU in the generator and LeakyReLU(0.2) in the discriminator, tanh out, weights
from N(0, 0.02). WGAN, WGAN-GP and LSGAN all ran on this architecture in their papers, with the
critic's normalisation as the one knob (WGAN-GP forbids BatchNorm in the critic).
"""

from __future__ import annotations

import keras
from keras import layers

from ganlib.base import scaled

NORMALISATIONS = ("batch", "layer", "none")


def dcgan_init():
    return keras.initializers.RandomNormal(0.0, 0.02)


def dcgan_generator(latent_dim: int, width: float = 1.0, name: str = "generator") -> keras.Model:
    c256, c128, c64 = scaled(256, width), scaled(128, width), scaled(64, width)
    init = dcgan_init()
    return keras.Sequential(
        [
            keras.Input((latent_dim,)),
            layers.Dense(7 * 7 * c256, use_bias=False, kernel_initializer=init),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.Reshape((7, 7, c256)),
            layers.Conv2DTranspose(c128, 4, strides=2, padding="same", use_bias=False, kernel_initializer=init),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.Conv2DTranspose(c64, 4, strides=2, padding="same", use_bias=False, kernel_initializer=init),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.Conv2DTranspose(1, 3, strides=1, padding="same", activation="tanh", kernel_initializer=init),
        ],
        name=name,
    )


def _normalisation(kind: str):
    if kind == "batch":
        return [layers.BatchNormalization()]
    if kind == "layer":
        return [layers.LayerNormalization()]
    return []


def dcgan_discriminator(width: float = 1.0, norm: str = "batch", name: str = "discriminator") -> keras.Model:
    """Two strided convolutions and a linear output: a logit, a critic score or an LSGAN output."""
    init = dcgan_init()
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            # No normalisation on the input layer (Radford et al.): it destabilises the samples.
            layers.Conv2D(scaled(64, width), 4, strides=2, padding="same", kernel_initializer=init),
            layers.LeakyReLU(0.2),
            layers.Conv2D(scaled(128, width), 4, strides=2, padding="same", kernel_initializer=init),
            *_normalisation(norm),
            layers.LeakyReLU(0.2),
            layers.Flatten(),
            layers.Dense(1, kernel_initializer=init),
        ],
        name=name,
    )
