"""The loss log's per-step values, recovered from Keras's running means, are the losses each
training step computed."""

from __future__ import annotations

import numpy as np
import pandas as pd


def test_step_losses_are_the_losses_each_step_computed(tmp_path, small_digits):
    """Keras hands callbacks running means only; the model here also hands out each step's own
    losses as its train_step computed them, and the log's recovered values must be those, step by
    step and across an epoch boundary (where Keras's means start afresh)."""
    import keras

    from ganlib import registry
    from ganlib.callbacks import LossLog
    from ganlib.data import make_dataset

    keras.utils.set_random_seed(0)
    model = registry.build("gan", {"width": 0.25, "batch_size": 20}, seed=0)
    means_only = model.track

    def track(d_loss, g_loss, *args, **kwargs):
        return {**means_only(d_loss, g_loss, *args, **kwargs), "own_d_loss": d_loss, "own_g_loss": g_loss}

    model.track = track  # the train_step traced by fit calls this

    class OwnLosses(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.rows = []

        def on_train_batch_end(self, batch, logs=None):
            self.rows.append([float(logs["own_d_loss"]), float(logs["own_g_loss"])])

    own = OwnLosses()
    out = tmp_path / "run"
    model.fit(
        make_dataset(small_digits, 20, seed=0, repeat=True),
        epochs=2,
        steps_per_epoch=5,
        verbose=0,
        callbacks=[LossLog(out), own],
    )

    steps = pd.read_csv(out / "losses_steps.csv")
    assert list(steps["step"]) == list(range(1, 11)) and list(steps["epoch"]) == [1] * 5 + [2] * 5
    own_losses = np.array(own.rows)
    running_means = np.cumsum(own_losses[:5], axis=0) / np.arange(1, 6)[:, None]
    assert (
        np.abs(running_means - own_losses[:5]).max() > 1e-3
    )  # so a log of the means themselves would fail below
    np.testing.assert_allclose(steps[["d_loss", "g_loss"]].to_numpy(), own_losses, rtol=1e-5, atol=1e-6)
    history = pd.read_csv(out / "history.csv").set_index("epoch")
    np.testing.assert_allclose(
        history[["d_loss", "g_loss"]].to_numpy(), own_losses.reshape(2, 5, 2).mean(axis=1), rtol=1e-5
    )
