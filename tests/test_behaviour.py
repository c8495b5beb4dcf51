"""Behaviour ganlib claims, each checked where it could fail: training on real digits lowers FID
(and a conditional model draws the digit it is asked for), an exported generator draws in a fresh
process the very images the model in memory draws, and a run resumed from its saved training state
takes the very steps an uninterrupted run takes.

Thresholds come from measurements on this machine (2 CPU cores, shared with other jobs), written
beside each; "ratio" is the trained generator's FID over the same generator's FID before training,
on 2,000 samples from the same fixed noise (the untrained generators score 827-831).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

SEED = 0
SCORE_SAMPLES = 2000


@pytest.fixture(scope="module")
def training_digits(train_digits):
    """5,000 real training digits, 500 of each class."""
    from ganlib.data import balanced_subset

    return balanced_subset(train_digits, 500, seed=SEED)


def build(variant: str, overrides: dict, seed: int = SEED):
    import keras

    from ganlib import registry

    keras.utils.set_random_seed(seed)  # the initial weights and dropout seeds
    return registry.build(variant, overrides, seed)


def train_steps(model, digits, batch_size: int, steps: int, seed: int = SEED):
    from ganlib.data import make_dataset

    images_per_step = batch_size * model.real_batches_per_step
    model.fit(
        make_dataset(digits, images_per_step, seed=seed, repeat=True),
        epochs=1,
        steps_per_epoch=steps,
        verbose=0,
    )


def scores_before_and_after(variant: str, overrides: dict, steps: int, digits, mnist_path):
    """(model, quick scores of its generator untrained, the same after `steps` training steps)."""
    from ganlib.metrics import quick_scores

    model = build(variant, overrides)
    before = quick_scores(model, SCORE_SAMPLES, SEED, data=mnist_path)
    train_steps(model, digits, overrides["batch_size"], steps)
    after = quick_scores(model, SCORE_SAMPLES, SEED, data=mnist_path)
    return model, before, after


# ---- training learns -------------------------------------------------------------------------
# Quarter-width seed GAN, Adam 2e-4 with beta1 0.5 (at the seed's 1e-4 / 0.9 it still drew one
# class after 600 steps of batch 64). Measured ratio after 600 steps: 0.43, 0.44, 0.45, 0.45, 0.50,
# 0.51 (seeds 0-3, two sessions; 0.45 inside this file), 9-10 classes. The ratios after 800 and
# 1,000 steps (0.39-0.46) show the quarter-width network's plateau, so "half" cannot be beaten with
# a margin in this budget: the bound is 0.6.
GAN_CONFIG = {"width": 0.25, "batch_size": 32, "g_lr": 2e-4, "d_lr": 2e-4, "beta1": 0.5}
GAN_STEPS = 600


@pytest.fixture(scope="module")
def trained_gan(training_digits, mnist_path):
    return scores_before_and_after("gan", GAN_CONFIG, GAN_STEPS, training_digits, mnist_path)


def test_training_the_seed_gan_lowers_its_fid(trained_gan):
    _, before, after = trained_gan
    assert before["classes_covered"] <= 2  # untrained: one grey blob, read as one digit
    assert after["fid"] < 0.6 * before["fid"], (before["fid"], after["fid"])
    assert after["classes_covered"] >= 8, after


# WGAN-GP, two critic steps per generator step and Adam 5e-4 / 0.5: measured ratio after 500 steps
# 0.50, 0.51, 0.52, 0.52, 0.53 (seeds 0-4), all ten classes, falling steadily (0.54-0.57 after 300
# steps, 0.48-0.52 after 600). Faster settings swing: at Adam 1e-3 the ratio after 400 steps spread
# over 0.37-0.67, WGAN with clipping (2 critic steps, RMSProp 5e-4) over 0.40-0.61.
WGAN_GP_CONFIG = {"width": 0.25, "batch_size": 32, "n_critic": 2, "g_lr": 5e-4, "d_lr": 5e-4, "beta1": 0.5}
WGAN_GP_STEPS = 500


def test_training_wgan_gp_lowers_its_fid(training_digits, mnist_path):
    _, before, after = scores_before_and_after(
        "wgan_gp", WGAN_GP_CONFIG, WGAN_GP_STEPS, training_digits, mnist_path
    )
    assert before["classes_covered"] <= 2
    assert after["fid"] < 0.6 * before["fid"], (before["fid"], after["fid"])
    assert after["classes_covered"] >= 8, after


# ACGAN at Adam 5e-4: measured after 300 steps ratio 0.21-0.33 and the evaluator's accuracy on the
# intended labels 0.68-0.83 (seven runs, seeds 0-5); untrained: 0.10, chance.
ACGAN_CONFIG = {"width": 0.25, "batch_size": 64, "g_lr": 5e-4, "d_lr": 5e-4}
ACGAN_STEPS = 300


def test_training_acgan_lowers_its_fid_and_draws_the_asked_digit(training_digits, mnist_path):
    _, before, after = scores_before_and_after(
        "acgan", ACGAN_CONFIG, ACGAN_STEPS, training_digits, mnist_path
    )
    assert before["conditional_accuracy"] < 0.2
    assert after["fid"] < 0.45 * before["fid"], (before["fid"], after["fid"])
    assert after["conditional_accuracy"] > 0.4, after


# ---- export reproduces ----------------------------------------------------------------------
LOAD_AND_SAMPLE = """
import sys

import numpy as np

from ganlib.export import load_generator
from ganlib.metrics import sample

n, seed = int(sys.argv[1]), int(sys.argv[2])
for path, out in zip(sys.argv[3::2], sys.argv[4::2]):
    images, _ = sample(load_generator(path), n, seed)
    np.save(out, images)
"""


def test_an_exported_generator_draws_the_same_images_in_a_fresh_process(trained_gan, tmp_path):
    import keras

    from ganlib.export import save_generator
    from ganlib.metrics import sample

    model, _, _ = trained_gan
    norms = [layer for layer in model.generator.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) == 3
    for layer in norms:  # inference reads these: a file without them would draw other images
        assert np.abs(np.asarray(layer.moving_mean)).max() > 1e-2, layer.name
        assert np.abs(np.asarray(layer.moving_variance) - 1.0).max() > 1e-2, layer.name

    n, seed = 200, 3
    expected, _ = sample(model, n, seed)
    paths = save_generator(model.generator, tmp_path / "export", "gan")
    assert sorted(paths) == ["h5", "keras"]
    outputs = {kind: tmp_path / f"{kind}.npy" for kind in paths}
    arguments = [str(item) for kind in paths for item in (paths[kind], outputs[kind])]
    done = subprocess.run(
        [sys.executable, "-c", LOAD_AND_SAMPLE, str(n), str(seed), *arguments],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for kind, output in outputs.items():
        np.testing.assert_allclose(np.load(output), expected, rtol=0, atol=1e-5, err_msg=kind)


# ---- resume is exact --------------------------------------------------------------------------
# A fresh process, because op determinism (without it TensorFlow's CPU kernels drift in the last
# bits) cannot be turned off again once on; one for every variant here, as a TensorFlow start costs
# more than their steps. For each it trains 2K steps straight through, and K steps, saves, builds a
# fresh model under another global seed (so nothing but the state carries over), loads and trains
# K more on the same batches; one epoch per step, so each epoch's logs are that step's losses.
RESUME = """
import json
import sys
import tempfile

import keras
import numpy as np
import tensorflow as tf

tf.config.experimental.enable_op_determinism()

from ganlib import data, export, registry

runs, steps, mnist = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
digits = data.balanced_subset(data.load_digits(mnist, "train"), 20, seed=0)


def build(variant, overrides, global_seed):
    keras.utils.set_random_seed(global_seed)
    return registry.build(variant, overrides, seed=0)


def fit(model, images, labels):
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))  # each element is one step's batch
    history = model.fit(dataset, epochs=len(images), steps_per_epoch=1, verbose=0, shuffle=False)
    return {key: history.history[key] for key in ("d_loss", "g_loss")}


results = {}
for variant, overrides in runs.items():
    straight = build(variant, overrides, 0)
    images_per_step = overrides["batch_size"] * straight.real_batches_per_step
    batches = list(
        data.make_dataset(digits, images_per_step, seed=0, repeat=True).take(2 * steps).as_numpy_iterator()
    )
    images, labels = np.stack([b[0] for b in batches]), np.stack([b[1] for b in batches])
    through = fit(straight, images, labels)

    first = build(variant, overrides, 0)
    fit(first, images[:steps], labels[:steps])
    state = tempfile.mkdtemp()
    export.save_training_state(first, state)
    resumed = build(variant, overrides, 1)
    export.load_training_state(resumed, state)
    after = fit(resumed, images[steps:], labels[steps:])
    weights_equal = all(
        np.array_equal(a, b) for a, b in zip(straight.get_weights(), resumed.get_weights())
    )
    results[variant] = {"through": through, "resumed": after, "weights_equal": weights_equal}
print(json.dumps(results))
"""
RESUME_STEPS = 3
RESUME_RUNS = {
    "gan": {"width": 0.25, "batch_size": 16},
    # its gradient penalty draws alpha from the model's seed generator, which the state holds;
    # drawn from TensorFlow's unseeded op, the resumed losses differed from step K+1 on
    "wgan_gp": {"width": 0.25, "batch_size": 16, "n_critic": 2},
}


@pytest.fixture(scope="module")
def resumed_runs(mnist_path, tmp_path_factory):
    done = subprocess.run(
        [sys.executable, "-c", RESUME, json.dumps(RESUME_RUNS), str(RESUME_STEPS), str(mnist_path)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path_factory.mktemp("resume"),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("variant", RESUME_RUNS)
def test_a_resumed_run_takes_the_same_steps_as_an_uninterrupted_one(variant, resumed_runs):
    result = resumed_runs[variant]
    for key in ("d_loss", "g_loss"):
        through, resumed = result["through"][key], result["resumed"][key]
        assert len(through) == 2 * RESUME_STEPS and len(resumed) == RESUME_STEPS
        # measured: bitwise equal with op determinism on
        np.testing.assert_array_equal(resumed, through[RESUME_STEPS:], err_msg=key)
    assert result["weights_equal"]


def test_a_training_state_without_optimizer_state_is_refused(tmp_path):
    from ganlib import export
    from ganlib.errors import StateError

    model = build("gan", {"width": 0.25, "batch_size": 16})
    directory = tmp_path / "state"
    path = export.save_training_state(model, directory, step=7)
    assert export.load_training_state(build("gan", {"width": 0.25, "batch_size": 16}, seed=1), directory) == {
        "step": 7
    }

    with np.load(path) as arrays:
        kept = {key: arrays[key] for key in arrays.files if not key.startswith("opt1_")}
    np.savez(path, **kept)  # as if saved before the discriminator's optimizer had its slots
    fresh = build("gan", {"width": 0.25, "batch_size": 16}, seed=1)
    weights = fresh.get_weights()
    with pytest.raises(
        StateError, match=r"lacks \d+ of the \d+ arrays .*optimizer state.*first opt1_0"
    ) as refused:
        export.load_training_state(fresh, directory)
    assert "\n" not in str(refused.value)
    assert all(np.array_equal(a, b) for a, b in zip(weights, fresh.get_weights()))  # nothing half-loaded

    export.save_training_state(build("gan", {"width": 0.5, "batch_size": 16}), directory)
    with pytest.raises(
        StateError, match=r"holds model_\d+ of shape .* where this VanillaGAN has .* of shape"
    ):
        export.load_training_state(fresh, directory)
