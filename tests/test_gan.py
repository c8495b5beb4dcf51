"""The base model and the seed paper's GAN: architecture, training steps, sampling, validation."""

from __future__ import annotations

import numpy as np
import pytest
from optuna.distributions import CategoricalDistribution

from ganlib import registry
from ganlib.data import make_dataset
from ganlib.errors import ConfigError

TINY = {"width": 0.25, "batch_size": 32}


def weights_of(network):
    return [np.array(w) for w in network.trainable_weights]


def changed(before, network) -> bool:
    return all(not np.allclose(b, np.array(a)) for b, a in zip(before, network.trainable_weights))


def test_seed_defaults_are_the_papers():
    defaults = registry.get("gan").defaults
    assert defaults["latent_dim"] == 100 and defaults["batch_size"] == 128
    assert defaults["g_lr"] == defaults["d_lr"] == 1e-4 and defaults["dropout"] == 0.3


def test_seed_networks_are_the_papers():
    from ganlib.variants.gan import tutorial_discriminator, tutorial_generator

    generator, discriminator = tutorial_generator(100), tutorial_discriminator()
    kinds = [type(layer).__name__ for layer in generator.layers]
    # the seed's layers; its batch norms train through TensorFlow's fused kernel, as tf.keras 2 did
    assert kinds == [
        "Dense",
        "FusedBatchNormalization",
        "LeakyReLU",
        "Reshape",
        "Conv2DTranspose",
        "FusedBatchNormalization",
        "LeakyReLU",
        "Conv2DTranspose",
        "FusedBatchNormalization",
        "LeakyReLU",
        "Conv2DTranspose",
    ]
    assert generator.layers[0].units == 7 * 7 * 256
    assert [layer.filters for layer in generator.layers if hasattr(layer, "filters")] == [128, 64, 1]
    assert generator.layers[-1].activation.__name__ == "tanh"
    assert generator.output_shape == (None, 28, 28, 1)
    kinds = [type(layer).__name__ for layer in discriminator.layers]
    assert kinds == ["Conv2D", "LeakyReLU", "Dropout", "Conv2D", "LeakyReLU", "Dropout", "Flatten", "Dense"]
    assert [layer.strides for layer in discriminator.layers if hasattr(layer, "strides")] == [(2, 2), (2, 2)]
    assert discriminator.layers[2].rate == 0.3 and discriminator.output_shape == (None, 1)


def test_training_steps_change_both_networks(small_digits):
    model = registry.build("gan", TINY, seed=0)
    g_before, d_before = weights_of(model.generator), weights_of(model.discriminator)
    history = model.fit(make_dataset(small_digits, 32, seed=0), epochs=1, steps_per_epoch=3, verbose=0)
    logs = {key: values[-1] for key, values in history.history.items()}
    assert set(logs) >= {"d_loss", "g_loss", "d_acc_real", "d_acc_fake"}
    assert all(np.isfinite(value) for value in logs.values())
    # the accuracies are shares of the 3 x 32 images D judged, each right or wrong
    for name in ("d_acc_real", "d_acc_fake"):
        assert logs[name] * 96 == pytest.approx(round(logs[name] * 96), abs=1e-3), (name, logs[name])
    assert changed(g_before, model.generator) and changed(d_before, model.discriminator)
    assert int(model.g_optimizer.iterations) == int(model.d_optimizer.iterations) == 3


def test_generate_is_fixed_by_its_seed():
    model = registry.build("gan", TINY, seed=0)
    first, again, other = model.generate(16, seed=5), model.generate(16, seed=5), model.generate(16, seed=6)
    assert first.shape == (16, 28, 28, 1) and first.dtype == np.float32
    assert np.abs(first).max() <= 1.0
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


def test_minimax_generator_loss_is_selectable():
    model = registry.build("gan", {**TINY, "generator_loss": "minimax"})
    assert model.generator_loss.__name__ == "minimax_generator_loss"


def test_unknown_variant_names_the_allowed_ones():
    with pytest.raises(ConfigError) as error:
        registry.get("bestgan")
    assert "bestgan" in str(error.value) and "gan" in str(error.value)


def in_search_space(distribution, value) -> bool:
    """Whether `distribution` can propose `value` (Optuna's distributions have no public `contains`)."""
    if isinstance(distribution, CategoricalDistribution):
        return value in distribution.choices
    return distribution.low <= value <= distribution.high


def test_registry_defaults_lie_in_their_search_spaces():
    for spec in registry.VARIANTS.values():
        for name, distribution in spec.search_space.items():
            assert name in spec.defaults, (spec.name, name)
            assert in_search_space(distribution, spec.defaults[name]), (spec.name, name, spec.defaults[name])
