"""Networks several variants share: the DCGAN generator and discriminator for 28x28 digits, and
`scaled`, the width multiplier every network's channel counts go through.

Radford et al. 2016's rules: strided (transposed) convolutions instead of pooling, BatchNorm in
the generator, ReLU in the generator and LeakyReLU(0.2) in the discriminator, tanh out, weights
from N(0, 0.02). WGAN, WGAN-GP and LSGAN all ran on this architecture in their papers, with the
critic's normalisation as the one knob (WGAN-GP forbids BatchNorm in the critic).
"""

from __future__ import annotations

import keras
from keras import layers

from ganlib.batch_norm import FusedBatchNormalization
from ganlib.data import NUM_CLASSES
from ganlib.sampling import LABELS

NORMALISATIONS = ("batch", "layer", "none")


def scaled(channels: int, width: float) -> int:
    """Channel count under a width multiplier: 1.0 is the paper's network, small ones for smoke runs."""
    return max(1, int(round(channels * width)))


def dcgan_init():
    return keras.initializers.RandomNormal(0.0, 0.02)


def dcgan_generator(latent_dim: int, width: float = 1.0, name: str = "generator") -> keras.Model:
    c256, c128, c64 = scaled(256, width), scaled(128, width), scaled(64, width)
    init = dcgan_init()
    return keras.Sequential(
        [
            keras.Input((latent_dim,)),
            layers.Dense(7 * 7 * c256, use_bias=False, kernel_initializer=init),
            FusedBatchNormalization(),
            layers.ReLU(),
            layers.Reshape((7, 7, c256)),
            layers.Conv2DTranspose(
                c128, 4, strides=2, padding="same", use_bias=False, kernel_initializer=init
            ),
            FusedBatchNormalization(),
            layers.ReLU(),
            layers.Conv2DTranspose(
                c64, 4, strides=2, padding="same", use_bias=False, kernel_initializer=init
            ),
            FusedBatchNormalization(),
            layers.ReLU(),
            layers.Conv2DTranspose(
                1, 3, strides=1, padding="same", activation="tanh", kernel_initializer=init
            ),
        ],
        name=name,
    )


def _normalisation(kind: str):
    if kind == "batch":
        return [FusedBatchNormalization()]
    if kind == "layer":
        return [layers.LayerNormalization()]
    return []


def discriminator_features(width: float = 1.0, norm: str = "batch") -> list:
    """The DCGAN discriminator's layers up to its flattened features: two strided convolutions."""
    init = dcgan_init()
    return [
        # No normalisation on the input layer (Radford et al.): it destabilises the samples.
        layers.Conv2D(scaled(64, width), 4, strides=2, padding="same", kernel_initializer=init),
        layers.LeakyReLU(0.2),
        layers.Conv2D(scaled(128, width), 4, strides=2, padding="same", kernel_initializer=init),
        *_normalisation(norm),
        layers.LeakyReLU(0.2),
        layers.Flatten(),
    ]


def dcgan_discriminator(width: float = 1.0, norm: str = "batch", name: str = "discriminator") -> keras.Model:
    """Features and a linear output: a logit, a critic score or an LSGAN output."""
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            *discriminator_features(width, norm),
            layers.Dense(1, kernel_initializer=dcgan_init()),
        ],
        name=name,
    )


def conditional_generator(
    latent_dim: int, width: float = 1.0, embedding_dim: int = 50, name: str = "generator"
) -> keras.Model:
    """The DCGAN generator fed [latents, labels]: the label's embedding joins the noise (Mirza and
    Osindero feed y to the first layer; an embedding is the learned form of their one-hot y)."""
    latents = keras.Input((latent_dim,), name="latents")
    labels = keras.Input((), dtype="int32", name=LABELS)
    joined = layers.Concatenate()([latents, layers.Embedding(NUM_CLASSES, embedding_dim)(labels)])
    body = dcgan_generator(latent_dim + embedding_dim, width, name=f"{name}_body")
    return keras.Model([latents, labels], body(joined), name=name)


def label_plane(labels, name: str):
    """A label as a learned 28x28 plane, stacked onto the image as a second channel."""
    plane = layers.Embedding(NUM_CLASSES, 28 * 28, name=f"{name}_label_embedding")(labels)
    return layers.Reshape((28, 28, 1))(plane)


def conditional_discriminator(
    width: float = 1.0, norm: str = "batch", name: str = "discriminator"
) -> keras.Model:
    """D(x, y): the DCGAN discriminator on the image with its label plane as a second channel."""
    images = keras.Input((28, 28, 1), name="images")
    labels = keras.Input((), dtype="int32", name="labels")
    x = layers.Concatenate()([images, label_plane(labels, name)])
    for layer in discriminator_features(width, norm):
        x = layer(x)
    return keras.Model([images, labels], layers.Dense(1, kernel_initializer=dcgan_init())(x), name=name)


def discriminator_body(width: float = 1.0, norm: str = "batch", name: str = "body") -> keras.Model:
    """The DCGAN discriminator without its output layer, for variants that put several heads on it."""
    return keras.Sequential([keras.Input((28, 28, 1)), *discriminator_features(width, norm)], name=name)
