"""The loss log's per-step values, recovered from Keras's running means, agree with the epoch means."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ganlib.train import train


def test_step_losses_average_to_the_epoch_means(tmp_path, mnist_path):
    out = tmp_path / "run"
    train("gan", out, epochs=2, steps_per_epoch=5, data=mnist_path, per_class=10,
          overrides={"width": 0.25, "batch_size": 20}, verbose=0, evaluate_at_end=False)
    steps = pd.read_csv(out / "losses_steps.csv")
    history = pd.read_csv(out / "history.csv")
    assert list(steps["step"]) == list(range(1, 11))
    per_epoch = steps.groupby("epoch")[["d_loss", "g_loss"]].mean()
    np.testing.assert_allclose(per_epoch.to_numpy(), history.set_index("epoch")[["d_loss", "g_loss"]].to_numpy(), rtol=1e-4)
