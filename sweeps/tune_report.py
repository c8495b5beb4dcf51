"""The Keras callback that turns a trial's training into Tune reports.

Each round of `eval_every_images` ends with the losses, a quick FID on fixed noise and a
checkpoint; a NaN or infinite loss or FID ends the trial with the sentinel FID instead.
Imported only inside trials: importing it starts TensorFlow.
"""

from __future__ import annotations

import math
import tempfile
import time

import keras
from ray import tune

from ganlib.export import save_training_state
from ganlib.metrics import quick_scores
from sweeps.trainable import SENTINEL_FID


# A loss this large has left any regime a GAN recovers from (a WGAN-GP critic at lr 1.0 reaches
# 1e11 within 50 steps); the trial ends as diverged rather than burning its budget to reach NaN.
DIVERGED_LOSS = 1.0e8


def _finite(values) -> bool:
    return all(math.isfinite(float(v)) and abs(float(v)) < DIVERGED_LOSS for v in values)


def _losses(logs: dict) -> list[float]:
    return [float(v) for k, v in (logs or {}).items() if k.endswith("loss")]


class TuneReport(keras.callbacks.Callback):
    def __init__(self, run: dict, seed: int, images_per_round: int, train_seconds: float, placement: dict, parameters: dict):
        super().__init__()
        self.run, self.seed = run, seed
        self.images_per_round = images_per_round
        self.train_seconds = train_seconds
        self.placement, self.parameters = placement, parameters
        self.eval_seconds = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if not _finite(_losses(logs)):
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self.train_seconds += time.perf_counter() - self.epoch_start
        rounds = epoch + 1
        metrics = {
            **{k: float(v) for k, v in (logs or {}).items()},
            **self.parameters,
            "round": rounds,
            "training_images": rounds * self.images_per_round,
            "train_seconds": self.train_seconds,
            "images_per_s": rounds * self.images_per_round / max(self.train_seconds, 1e-9),
            "seed": self.seed,
            "threads": self.placement["threads"],
            "gpu_ids": self.placement["gpu_ids"],
            "diverged": False,
        }
        if _finite(_losses(logs)):
            evaluation_start = time.perf_counter()
            scores = quick_scores(self.model, self.run["eval_samples"], seed=self.seed, data=self.run["data"])
            self.eval_seconds += time.perf_counter() - evaluation_start
            metrics.update({k: v for k, v in scores.items() if not isinstance(v, list)}, eval_seconds=self.eval_seconds)
        if not _finite(_losses(logs)) or not _finite([metrics.get("fid", float("nan"))]):
            self.model.stop_training = True
            tune.report({**metrics, "fid": SENTINEL_FID, "diverged": True})
            return
        with tempfile.TemporaryDirectory() as directory:
            save_training_state(self.model, directory, round=rounds, train_seconds=self.train_seconds)
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(directory))
