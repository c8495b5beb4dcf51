"""The generator's weight average (`ema_half_life`): the recursion it follows, its place in the
saved training state, and scoring it without touching the trained weights."""

from __future__ import annotations

import numpy as np
import pytest

from ganlib.base import ema_momentum
from ganlib.errors import ConfigError
from ganlib.run import Run

TINY = {"width": 0.25, "batch_size": 16, "ema_half_life": 32}


def generator_weights(run) -> list[np.ndarray]:
    return [np.array(weight) for weight in run.model.generator_side_weights]


@pytest.mark.parametrize("variant", ["gan", "wgan"])  # Adam, and WGAN's RMSprop
def test_the_average_follows_its_recursion_and_leaves_the_trained_weights_alone(variant, mnist_path):
    run = Run(variant, TINY, data=mnist_path, per_class=10)
    momentum = ema_momentum(run.config)
    assert momentum == pytest.approx(0.5 ** (16 / 32))
    dataset = run.dataset(repeat=True)
    average = None
    for _ in range(4):
        run.train(dataset, steps_per_epoch=1)
        now = generator_weights(run)
        # Keras starts the average at the first step's weights, then decays it by `momentum`
        average = (
            now if average is None else [momentum * a + (1 - momentum) * w for a, w in zip(average, now)]
        )
    with run.model.averaged_generator():
        for mine, expected in zip(generator_weights(run), average):
            np.testing.assert_allclose(mine, expected, rtol=1e-5, atol=1e-6)
    for mine, trained in zip(generator_weights(run), now):
        np.testing.assert_array_equal(mine, trained)
    assert any(not np.allclose(a, w) for a, w in zip(average, now))


def test_the_average_is_part_of_the_training_state(tmp_path, mnist_path):
    run = Run("gan", TINY, data=mnist_path, per_class=10)
    run.train(run.dataset(repeat=True), steps_per_epoch=3)
    run.save(tmp_path)
    with run.model.averaged_generator():
        saved_average = generator_weights(run)
    again = Run("gan", TINY, data=mnist_path, per_class=10)
    again.restore(tmp_path)
    with again.model.averaged_generator():
        for mine, theirs in zip(generator_weights(again), saved_average):
            np.testing.assert_array_equal(mine, theirs)


def test_scoring_the_average_scores_other_images_and_keeps_the_trained_generator(mnist_path):
    run = Run("gan", {**TINY, "g_lr": 1e-3}, data=mnist_path, per_class=10)
    run.train(run.dataset(repeat=True), steps_per_epoch=6)
    trained = generator_weights(run)
    raw = run.evaluate(200, split="validation", every_metric=False)
    averaged = run.evaluate(200, split="validation", every_metric=False, average=True)
    assert raw["fid"] != averaged["fid"]
    for mine, before in zip(generator_weights(run), trained):
        np.testing.assert_array_equal(mine, before)


def test_no_average_unless_asked_and_a_bad_half_life_is_refused(mnist_path):
    run = Run("gan", {"width": 0.25, "batch_size": 16}, data=mnist_path, per_class=10)
    assert ema_momentum(run.config) is None and not run.model.has_average
    with pytest.raises(ConfigError, match="ema_half_life"):
        with run.model.averaged_generator():
            pass
    with pytest.raises(ConfigError, match="ema_half_life=-5 is not allowed"):
        Run("gan", {"ema_half_life": -5}, data=mnist_path, per_class=10)
