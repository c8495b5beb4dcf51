"""Mixed precision: every variant trains under Keras's float16 policy with loss-scaled optimizers
(the GPU path, run here on the CPU) and under bfloat16; unknown precisions are refused."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from ganlib import registry
from ganlib.data import make_dataset
from ganlib.errors import ConfigError
from ganlib.precision import set_precision

TINY = {"width": 0.25, "batch_size": 16}


@pytest.fixture
def precision_policy():
    yield set_precision
    set_precision("float32")


def fit_a_few_steps(variant, digits, steps=2):
    model = registry.build(variant, TINY)
    before = [np.array(w) for w in model.generator.trainable_weights + model.discriminator.trainable_weights]
    batch = TINY["batch_size"] * model.real_batches_per_step
    history = model.fit(
        make_dataset(digits, batch, seed=0), epochs=1, steps_per_epoch=steps, verbose=0
    ).history
    after = [np.array(w) for w in model.generator.trainable_weights + model.discriminator.trainable_weights]
    return model, history, before, after


@pytest.mark.parametrize("variant", registry.names())
def test_float16_trains_every_variant_with_loss_scaling(variant, small_digits, precision_policy):
    precision_policy("mixed_float16")
    # Dynamic loss scaling skips the steps whose scaled gradients overflow float16, halving the
    # scale from 2^15 each time; StyleGAN's generator needs four of them, so train for six.
    model, history, before, after = fit_a_few_steps(variant, small_digits, steps=6)
    assert isinstance(model.g_optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(model.d_optimizer, keras.optimizers.LossScaleOptimizer)
    assert model.generator.compute_dtype == "float16"
    assert all(w.dtype == "float32" for w in model.generator.trainable_weights)  # float32 master weights
    assert all(np.isfinite(values[-1]) for values in history.values()), history
    n_generator = len(model.generator.trainable_weights)
    changed = [not np.array_equal(b, a) for b, a in zip(before, after)]
    assert any(changed[:n_generator]) and any(changed[n_generator:])
    images = model.generate(4, seed=0)
    assert images.dtype == np.float32 and np.isfinite(images).all()


def test_bfloat16_trains_without_loss_scaling(small_digits, precision_policy):
    precision_policy("mixed_bfloat16")
    model, history, before, after = fit_a_few_steps("gan", small_digits)
    assert not isinstance(model.g_optimizer, keras.optimizers.LossScaleOptimizer)
    assert model.discriminator.compute_dtype == "bfloat16"
    assert all(np.isfinite(values[-1]) for values in history.values())
    assert any(not np.array_equal(b, a) for b, a in zip(before, after))


def test_unknown_precision_is_refused():
    with pytest.raises(ConfigError, match="float64.*float32, mixed_bfloat16, mixed_float16"):
        set_precision("float64")


@pytest.mark.parametrize("variant", registry.names())
def test_a_generator_trained_in_bfloat16_reloads_from_its_h5_to_the_same_images_under_float32(
    variant, tmp_path, precision_policy
):
    """As the winners' rescore command loads it: `python -m ganlib.evaluate` runs under float32.
    StyleGAN's AdaIN built its style maps under the global policy, so they came back in float32
    beside bfloat16 features and the reloaded generator could not run."""
    from ganlib import export

    precision_policy("mixed_bfloat16")
    model = registry.build(variant, TINY)
    images = model.generate(4, seed=0)
    paths = export.save_generator(model.generator, tmp_path, variant)
    precision_policy("float32")
    reloaded = export.load_generator(paths["h5"])
    model.generator = reloaded
    np.testing.assert_array_equal(model.generate(4, seed=0), images)
