"""Variants I (DCGAN, WGAN, WGAN-GP, LSGAN) and the loss functions, on real MNIST subsets."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from ganlib import losses, registry
from ganlib.data import make_dataset
from ganlib.errors import ConfigError

TINY = {"width": 0.25, "batch_size": 16}


def fit_steps(model, digits, steps):
    dataset = make_dataset(digits, TINY["batch_size"] * model.real_batches_per_step, seed=0)
    return model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0).history


@pytest.mark.parametrize("variant", ["dcgan", "wgan", "wgan_gp", "lsgan"])
def test_variant_trains_without_nan_and_changes_both_networks(variant, trained):
    model, history, before = trained(variant)  # conftest.py: TINY, a few steps, shared with other tests
    assert all(np.isfinite(values[-1]) for values in history.values()), history
    g_changed = [
        not np.array_equal(b, np.array(a))
        for b, a in zip(before["generator"], model.generator.trainable_weights)
    ]
    d_changed = [
        not np.array_equal(b, np.array(a))
        for b, a in zip(before["discriminator"], model.discriminator.trainable_weights)
    ]
    assert all(g_changed) and any(d_changed)
    assert model.generate(4, seed=0).shape == (4, 28, 28, 1)


def test_wgan_clips_every_critic_weight_and_counts_critic_updates(small_digits):
    model = registry.build("wgan", {**TINY, "n_critic": 3, "clip_value": 0.02})
    assert model.real_batches_per_step == 3
    fit_steps(model, small_digits, 4)
    for weight in model.discriminator.trainable_weights:
        assert np.abs(np.array(weight)).max() <= 0.02 + 1e-7, weight.path
    assert int(model.g_optimizer.iterations) == 4
    assert int(model.d_optimizer.iterations) == 3 * 4
    assert isinstance(model.d_optimizer, keras.optimizers.RMSprop)


def test_wgan_critic_sees_a_fresh_real_batch_per_update(small_digits):
    model = registry.build("wgan", {**TINY, "n_critic": 5})
    images, _ = next(iter(make_dataset(small_digits, 16 * 5, seed=0)))
    batches = model.split_real_batches(images)
    assert len(batches) == 5 and all(b.shape[0] == 16 for b in batches)
    assert not np.allclose(batches[0].numpy(), batches[1].numpy())


def linear_critic(scale: float) -> keras.Model:
    direction = np.random.default_rng(0).standard_normal((784, 1)).astype("float32")
    direction /= np.linalg.norm(direction)
    critic = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(1, use_bias=False)]
    )
    critic.layers[-1].kernel.assign(scale * direction)
    return critic


def test_gradient_penalty_is_zero_for_a_1_lipschitz_critic_and_positive_for_a_steeper_one(small_digits):
    real = tf.constant(np.random.default_rng(1).uniform(-1, 1, (8, 28, 28, 1)).astype("float32"))
    fake = tf.constant(np.random.default_rng(2).uniform(-1, 1, (8, 28, 28, 1)).astype("float32"))
    assert float(losses.gradient_penalty(linear_critic(1.0), real, fake)) == pytest.approx(0.0, abs=1e-6)
    assert float(losses.gradient_penalty(linear_critic(3.0), real, fake)) == pytest.approx(4.0, rel=1e-4)


def test_least_squares_losses_equal_their_formula():
    real = np.array([[0.9], [0.2], [1.5]], "float32")
    fake = np.array([[0.1], [-0.4], [0.7]], "float32")
    for a, b, c in [(0.0, 1.0, 1.0), (-1.0, 1.0, 0.0)]:
        expected_d = 0.5 * np.mean((real - b) ** 2) + 0.5 * np.mean((fake - a) ** 2)
        expected_g = 0.5 * np.mean((fake - c) ** 2)
        assert float(losses.least_squares_discriminator_loss(real, fake, a, b)) == pytest.approx(
            expected_d, rel=1e-6
        )
        assert float(losses.least_squares_generator_loss(fake, c)) == pytest.approx(expected_g, rel=1e-6)


def test_minimax_and_wasserstein_losses_equal_their_formula():
    real, fake = np.array([[2.0], [-1.0]], "float32"), np.array([[0.5], [-3.0]], "float32")
    sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    expected_d = -np.mean(np.log(sigmoid(real))) - np.mean(np.log(1 - sigmoid(fake)))
    assert float(losses.minimax_discriminator_loss(real, fake)) == pytest.approx(expected_d, rel=1e-5)
    assert float(losses.non_saturating_generator_loss(fake)) == pytest.approx(
        -np.mean(np.log(sigmoid(fake))), rel=1e-5
    )
    assert float(losses.minimax_generator_loss(fake)) == pytest.approx(
        np.mean(np.log(1 - sigmoid(fake))), rel=1e-5
    )
    assert float(losses.wasserstein_critic_loss(real, fake)) == pytest.approx(np.mean(fake) - np.mean(real))
    assert float(losses.wasserstein_generator_loss(fake)) == pytest.approx(-np.mean(fake))


@pytest.mark.parametrize(
    "variant, overrides, words",
    [
        ("wgan", {"clip_value": 0.0}, ["clip_value=0.0", "(0.0, 1.0]"]),
        ("wgan", {"clip_value": -0.01}, ["clip_value=-0.01"]),
        ("wgan", {"n_critic": 0}, ["n_critic=0", "positive integer"]),
        ("wgan_gp", {"n_critic": 1.5}, ["n_critic=1.5"]),
        ("wgan_gp", {"gp_weight": -10.0}, ["gp_weight=-10.0", "(0.0, 1000.0]"]),
        ("lsgan", {"coding": "1-2-3"}, ["coding='1-2-3'", "0-1"]),
        ("dcgan", {"beta1": 1.0}, ["beta1=1.0", "[0.0, 1.0)"]),
    ],
)
def test_invalid_hyperparameters_are_refused(variant, overrides, words):
    with pytest.raises(ConfigError) as error:
        registry.build(variant, overrides)
    assert "\n" not in str(error.value)
    for word in words:
        assert word in str(error.value)


def test_papers_defaults():
    dcgan, wgan, wgan_gp = (registry.get(n).defaults for n in ("dcgan", "wgan", "wgan_gp"))
    assert (dcgan["g_lr"], dcgan["beta1"]) == (2e-4, 0.5)
    assert (wgan["g_lr"], wgan["n_critic"], wgan["clip_value"], wgan["batch_size"]) == (5e-5, 5, 0.01, 64)
    assert (wgan_gp["gp_weight"], wgan_gp["n_critic"], wgan_gp["beta1"], wgan_gp["beta2"]) == (
        10.0,
        5,
        0.0,
        0.9,
    )
    model = registry.build("wgan_gp", TINY)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.discriminator.layers)
