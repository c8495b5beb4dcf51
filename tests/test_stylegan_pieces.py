"""StyleGAN's pieces (Karras, Laine and Aila 2019) against what the paper says each one does:
PixelNorm, AdaIN, noise injection and style mixing."""

from __future__ import annotations

import numpy as np
import pytest

from ganlib import registry
from ganlib.stylegan_layers import AdaIN, NoiseInjection, PixelNorm
from ganlib.variants.stylegan import STYLES

TINY = {"width": 0.25}


def test_pixel_norm_gives_every_latent_unit_mean_square_and_keeps_its_direction():
    latents = np.random.default_rng(0).standard_normal((3, 16)) * np.array([[0.1], [1.0], [100.0]])
    out = np.asarray(PixelNorm()(latents.astype("float32")), np.float64)
    np.testing.assert_allclose(np.mean(out**2, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(out * np.sqrt(np.mean(latents**2, axis=1, keepdims=True)), latents, rtol=1e-5)


def test_adain_gives_each_channel_the_styles_scale_and_bias():
    rng = np.random.default_rng(0)
    # per-channel offsets and spreads of its own, which instance normalisation must remove
    features = (5.0 + 3.0 * rng.standard_normal((2, 6, 6, 3)) * np.array([1.0, 2.0, 0.5])).astype("float32")
    styles = rng.standard_normal((2, 4)).astype("float32")
    layer = AdaIN()
    layer.build([features.shape, styles.shape])
    # biases well away from AdaIN's starting point (scale 1, shift 0), so a dropped term shows
    layer.style_scale.bias.assign(np.array([2.0, -3.0, 1.5], "float32"))
    layer.style_bias.bias.assign(np.array([4.0, -4.0, 3.0], "float32"))
    out = np.asarray(layer([features, styles]), np.float64)
    # the style's affine maps: y_s, so the scale is 1 + y_s (StyleGAN's form), and y_b
    scale = 1.0 + np.asarray(layer.style_scale(styles), np.float64)
    bias = np.asarray(layer.style_bias(styles), np.float64)
    np.testing.assert_allclose(out.mean(axis=(1, 2)), bias, atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(1, 2)), np.abs(scale), rtol=1e-4)
    # the input's own statistics are gone: an affinely changed input gives the same output
    np.testing.assert_allclose(np.asarray(layer([2.0 * features - 7.0, styles])), out, atol=1e-4)


def test_noise_injection_adds_one_noise_image_scaled_per_channel():
    x = np.random.default_rng(0).standard_normal((2, 5, 5, 3)).astype("float32")
    layer = NoiseInjection(seed=1)
    layer.build(x.shape)
    for training in (True, False):  # the learned scale starts at zero: the layer changes nothing
        np.testing.assert_array_equal(np.asarray(layer(x, training=training)), x)
    layer.scale.assign(np.array([0.0, 0.5, -2.0], "float32"))
    added = np.asarray(layer(x, training=True)) - x
    np.testing.assert_allclose(added[..., 0], 0.0, atol=1e-6)
    noise = added[..., 1] / 0.5  # one noise value per pixel, shared by the channels
    np.testing.assert_allclose(added[..., 2], -2.0 * noise, atol=1e-5)
    assert noise.std() > 0.5 and not np.allclose(noise[0], noise[1])  # fresh per sample
    fixed = np.asarray(layer.fixed_noise)[..., 0]
    expected = np.broadcast_to(fixed[..., None] * np.array([0.0, 0.5, -2.0]), x.shape)
    np.testing.assert_allclose(np.asarray(layer(x, training=False)) - x, expected, atol=1e-6)


def test_stylegans_noise_layers_draw_apart_from_its_latents_and_from_other_seeds_runs():
    """A Keras SeedGenerator seeded s starts at state (s, 0) and counts up, so two that start alike
    draw the same normals: the model's (latents, mixing) and each noise layer's must start apart,
    in a run and across the seeds a study trains."""
    starts = []
    for seed in range(10):
        model = registry.build("stylegan", TINY, seed=seed)
        noise = [layer for layer in model.synthesis.layers if isinstance(layer, NoiseInjection)]
        assert len(noise) == STYLES
        generators = [model.seed_generator, *(layer.seed_generator for layer in noise)]
        starts += [tuple(int(v) for v in np.asarray(g.state)) for g in generators]
    assert all(counter == 0 for _, counter in starts)
    assert len(set(starts)) == len(starts) == 10 * (1 + STYLES)


@pytest.fixture(scope="module")
def stylegan():
    return registry.build("stylegan", TINY, seed=0)


def test_mixed_styles_take_the_second_w_from_the_crossover_on(stylegan):
    first, second = np.full((3, 2), 1.0, "float32"), np.full((3, 2), 2.0, "float32")
    styles = np.asarray(stylegan.mixed_styles(first, second, np.array([1, 4, STYLES])))
    assert styles.shape == (3, STYLES, 2)
    expected = [[1] + [2] * (STYLES - 1), [1] * 4 + [2] * (STYLES - 4), [1] * STYLES]
    np.testing.assert_array_equal(styles[:, :, 0], expected)


def test_mixed_images_depend_on_the_second_latent_only_before_the_last_layer(stylegan):
    first, second, other = stylegan.latents_for(2, 0), stylegan.latents_for(2, 1), stylegan.latents_for(2, 2)
    for crossover in range(1, STYLES):
        mixed, other_mixed = stylegan.mix(first, second, crossover), stylegan.mix(first, other, crossover)
        assert not np.allclose(mixed, other_mixed, atol=1e-4), crossover
    np.testing.assert_array_equal(stylegan.mix(first, second, STYLES), stylegan.mix(first, other, STYLES))


@pytest.mark.parametrize("mixing_prob, mixed", [(0.0, False), (1.0, True)])
def test_training_styles_mix_as_often_as_asked(mixing_prob, mixed):
    model = registry.build("stylegan", {**TINY, "mixing_prob": mixing_prob}, seed=0)
    styles = np.asarray(model.styles_for_training(16))
    switches = np.sum(np.any(styles[:, 1:] != styles[:, :-1], axis=2), axis=1)
    # mixing: one crossover strictly inside the stack (layer 0 keeps w1); else one w everywhere
    np.testing.assert_array_equal(switches, np.full(16, int(mixed)))
