"""Variants II (conditional GAN, ACGAN, InfoGAN, BiGAN, StyleGAN) on real MNIST subsets."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from ganlib import registry
from ganlib.data import make_dataset
from ganlib.errors import ConfigError
from ganlib.sampling import is_conditional

TINY = {"width": 0.25, "batch_size": 16}


@pytest.mark.parametrize("variant", ["cgan", "acgan", "infogan", "bigan", "stylegan"])
def test_variant_trains_without_nan(variant, small_digits):
    model = registry.build(variant, TINY)
    before = [np.array(w) for w in model.generator.trainable_weights]
    history = model.fit(make_dataset(small_digits, 16, seed=0), epochs=1, steps_per_epoch=3, verbose=0).history
    assert all(np.isfinite(values[-1]) for values in history.values()), history
    assert any(not np.array_equal(b, np.array(a)) for b, a in zip(before, model.generator.trainable_weights))
    images = model.generate(12, seed=0)
    assert images.shape == (12, 28, 28, 1) and np.isfinite(images).all()
    grid, rows = model.grid_images(0)
    assert grid.shape == (100, 28, 28, 1)
    assert rows == (list(range(10)) if is_conditional(model) else None)


@pytest.mark.parametrize("variant", ["cgan", "acgan"])
def test_conditional_generators_take_the_labels_asked_for(variant):
    model = registry.build(variant, TINY)
    threes = model.generate(8, seed=0, labels=[3] * 8)
    sevens = model.generate(8, seed=0, labels=[7] * 8)
    assert threes.shape == (8, 28, 28, 1)
    assert not np.allclose(threes, sevens)  # same noise, other label: other images
    np.testing.assert_array_equal(threes, model.generate(8, seed=0, labels=[3] * 8))
    with pytest.raises(ConfigError, match="0..9"):
        model.generate(2, seed=0, labels=[3, 10])


def test_conditional_evaluation_scores_intended_labels(mnist_path):
    from ganlib.metrics import evaluate

    result = evaluate(registry.build("cgan", TINY), 1000, seed=0, data=mnist_path, cas=False)
    assert 0.0 <= result["conditional_accuracy"] <= 1.0 and "cas" not in result


def test_infogan_categorical_code_changes_the_samples():
    model = registry.build("infogan", TINY)
    first = model.generate(6, seed=0, category=0)
    other = model.generate(6, seed=0, category=5)
    assert not np.allclose(first, other)
    np.testing.assert_array_equal(first, model.generate(6, seed=0, category=0))
    grids = model.extra_grids(0)
    assert set(grids) == {"category", "continuous_0", "continuous_1"}
    rotation = grids["continuous_0"][0]
    assert not np.allclose(rotation[0], rotation[9])  # the code varies along the row


def test_bigan_encodes_images_to_codes(small_digits):
    from ganlib.data import to_unit_range

    model = registry.build("bigan", {**TINY, "latent_dim": 32})
    codes = model.encode(to_unit_range(small_digits.images[:20]))
    assert codes.shape == (20, 32) and np.isfinite(codes).all()


def test_stylegan_mixing_differs_from_both_parents():
    model = registry.build("stylegan", TINY)
    first, second = model.latents_for(4, 0), model.latents_for(4, 1)
    parent_a, parent_b = model.mix(first, first, 3), model.mix(second, second, 3)
    child = model.mix(first, second, 3)
    assert not np.allclose(child, parent_a, atol=1e-4) and not np.allclose(child, parent_b, atol=1e-4)
    np.testing.assert_allclose(parent_a, model.generate(4, seed=0), atol=1e-5)  # no mixing: the exported path


def test_equalized_layers_keep_unit_scale_and_slow_the_mapping_network():
    from ganlib.stylegan_layers import EqualizedConv2D, EqualizedDense

    x = np.random.default_rng(0).standard_normal((512, 256)).astype("float32")
    # He scaling at run time: unit-variance inputs come out with variance ~ gain^2
    assert 0.8 < float(np.var(EqualizedDense(256, gain=1.0)(x))) < 1.2
    images = np.random.default_rng(1).standard_normal((64, 14, 14, 32)).astype("float32")
    assert 0.8 < float(np.var(EqualizedConv2D(32, 3, gain=1.0)(images))) < 1.2
    # one optimizer step of the same size moves a 0.01-multiplier layer's output 100x less
    moved = {}
    for multiplier in (1.0, 0.01):
        layer = EqualizedDense(8, gain=1.0, lr_multiplier=multiplier)
        before = np.array(layer(x[:, :16]))
        layer.kernel.assign(layer.kernel + 0.1)
        moved[multiplier] = float(np.abs(np.array(layer(x[:, :16])) - before).mean())
    assert moved[0.01] == pytest.approx(moved[1.0] / 100, rel=1e-3)


def test_minibatch_stddev_sees_a_batch_without_variety():
    from ganlib.stylegan_layers import MinibatchStdDev

    varied = np.random.default_rng(0).standard_normal((8, 7, 7, 4)).astype("float32")
    same = np.repeat(varied[:1], 8, axis=0)
    assert MinibatchStdDev()(varied).shape == (8, 7, 7, 5)
    assert float(np.array(MinibatchStdDev()(same))[..., -1].max()) < 1e-3
    assert float(np.array(MinibatchStdDev()(varied))[..., -1].min()) > 0.5


def test_stylegan_generator_reloads_in_a_fresh_process(tmp_path):
    from ganlib.export import save_generator

    model = registry.build("stylegan", TINY)
    paths = save_generator(model.generator, tmp_path, "stylegan")
    expected = model.generate(4, seed=2)
    np.save(tmp_path / "expected.npy", expected)
    script = (
        "import numpy as np\n"
        "from ganlib.export import load_generator\n"
        "from ganlib.sampling import generator_inputs, run_generator\n"
        f"for path in {[str(p) for p in paths.values()]!r}:\n"
        "    g = load_generator(path)\n"
        "    out = run_generator(g, generator_inputs(g, 4, 2))\n"
        f"    np.testing.assert_allclose(out, np.load({str(tmp_path / 'expected.npy')!r}), atol=1e-5)\n"
        "print('same')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180)
    assert "same" in result.stdout, result.stderr[-2000:]


@pytest.mark.parametrize(
    "variant, overrides, words",
    [
        ("acgan", {"class_weight": 0.0}, ["class_weight=0.0", "(0.0, 100.0]"]),
        ("infogan", {"info_weight": -1.0}, ["info_weight=-1.0"]),
        ("stylegan", {"mapping_depth": 0}, ["mapping_depth=0", "positive integer"]),
        ("stylegan", {"mixing_prob": 1.5}, ["mixing_prob=1.5", "[0.0, 1.0]"]),
        ("stylegan", {"style_dim": 0}, ["style_dim=0"]),
        ("stylegan", {"r1_gamma": -1.0}, ["r1_gamma=-1.0"]),
        ("bigan", {"dropout": 1.0}, ["dropout=1.0"]),
        ("cgan", {"latent_dim": 0}, ["latent_dim=0"]),
    ],
)
def test_invalid_arguments_are_refused(variant, overrides, words):
    with pytest.raises(ConfigError) as error:
        registry.build(variant, overrides)
    for word in words:
        assert word in str(error.value)
